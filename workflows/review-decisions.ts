/**
 * Checks a batch of review decisions against what the gate holds: the records under review and
 * the decisions already taken. Pure and deterministic, so the update validator, the update
 * handler and the signal handler apply the same rules.
 */
import type { ReviewDecision, ReviewDecisionBatch, ReviewItem, ReviewRefusal } from './messages';
import { boxesIn, formatBox, sameBox } from './review-rules';

/** Decisions per update or signal; larger sheets are sent in chunks. */
export const MAX_BATCH = 1000;
const MAX_TEXT = 20_000;
const KINDS = ['approve', 'reject', 'revise'] as const;

export interface Decided extends ReviewDecision {
  reviewer: string;
}

export interface CheckedBatch {
  /** New decisions, normalised (trimmed, revision text only on revisions). */
  valid: ReviewDecision[];
  /** Decisions identical to one already taken. */
  unchanged: number;
  refusals: ReviewRefusal[];
}

export interface GateRecords {
  buildId: string;
  items: ReadonlyMap<string, ReviewItem>;
  decided: ReadonlyMap<string, Decided>;
}

/** What is wrong with a batch as a whole, if anything. */
export function batchError(batch: ReviewDecisionBatch, buildId: string): string | undefined {
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.decisions))
    return 'a batch is {"reviewer": "<name>", "decisions": [{"id", "decision", "reason"?, "question"?, "answer"?}]}';
  if (typeof batch.reviewer !== 'string' || batch.reviewer.trim() === '')
    return 'the batch needs a non-empty "reviewer"';
  if (batch.reviewer.length > 200) return 'the reviewer name is longer than 200 characters';
  if (batch.buildId !== undefined && batch.buildId !== buildId)
    return `the batch is for build ${String(batch.buildId)}, but this is build ${buildId}`;
  if (batch.decisions.length > MAX_BATCH) return `at most ${MAX_BATCH} decisions per batch; send the sheet in chunks`;
  return undefined;
}

/** Splits a batch (whose envelope is valid) into new decisions, repeats, and refusals with reasons. */
export function checkDecisions(batch: ReviewDecisionBatch, gate: GateRecords): CheckedBatch {
  const out: CheckedBatch = { valid: [], unchanged: 0, refusals: [] };
  const seen = new Set<string>();
  batch.decisions.forEach((raw, index) => {
    const id = typeof raw?.id === 'string' ? raw.id : `(entry ${index + 1})`;
    const reason = refusal(raw, seen, gate);
    if (reason) out.refusals.push({ id, reason });
    else if (gate.decided.has(raw.id)) out.unchanged += 1;
    else out.valid.push(normalise(raw));
    seen.add(id);
  });
  return out;
}

function refusal(d: ReviewDecision, seen: Set<string>, gate: GateRecords): string | undefined {
  if (typeof d !== 'object' || d === null || typeof d.id !== 'string' || d.id === '')
    return 'each decision needs an "id"';
  if (seen.has(d.id)) return 'the record appears twice in the batch';
  const item = gate.items.get(d.id);
  if (!item) {
    return d.id.startsWith(`${gate.buildId}:`)
      ? 'no such record awaits review in this build (unknown id, dropped by an earlier stage, or outside the sample)'
      : `the record does not belong to build ${gate.buildId}`;
  }
  if (!(KINDS as readonly string[]).includes(d.decision))
    return `"decision" must be approve, reject or revise, not ${JSON.stringify(d.decision)}`;
  for (const field of ['reason', 'question', 'answer'] as const) {
    const v = d[field];
    if (v !== undefined && v !== null && typeof v !== 'string') return `"${field}" must be text`;
    if (typeof v === 'string' && v.length > MAX_TEXT) return `"${field}" is longer than ${MAX_TEXT} characters`;
  }
  if (d.decision === 'reject' && !d.reason?.trim()) return 'a rejection needs a "reason"';
  if (d.decision === 'revise') {
    if (!d.question?.trim() && !d.answer?.trim()) return 'a revision needs a new "question" or "answer"';
    if (item.box && d.answer?.trim()) {
      const boxes = boxesIn(d.answer);
      if (boxes.length === 0 || !boxes.every((b) => sameBox(b, item.box!)))
        return `the revised answer must keep the spoof-region box ${formatBox(item.box)} of this localization record`;
    }
  }
  const prior = gate.decided.get(d.id);
  if (prior && !sameDecision(prior, d))
    return `already decided: ${prior.decision} by ${prior.reviewer}; a record takes one decision`;
  return undefined;
}

function normalise(d: ReviewDecision): ReviewDecision {
  return {
    id: d.id,
    decision: d.decision,
    ...(d.reason?.trim() ? { reason: d.reason.trim() } : {}),
    ...(d.decision === 'revise' && d.question?.trim() ? { question: d.question.trim() } : {}),
    ...(d.decision === 'revise' && d.answer?.trim() ? { answer: d.answer.trim() } : {}),
  };
}

function sameDecision(prior: Decided, d: ReviewDecision): boolean {
  const n = normalise(d);
  return (
    prior.decision === n.decision &&
    prior.reason === n.reason &&
    prior.question === n.question &&
    prior.answer === n.answer
  );
}
