/**
 * SFT augmentation and filtering. Augmentation asks the text model for two new pairs per kept
 * pair; each child links to its parent and inherits image, class, task and box, and the
 * `augment_check` verdict drops a localization child whose box is missing or changed and a coarse
 * or fine child that contradicts the class. Filtering applies the special-words filter (recording
 * the phrase, the field and the list version), then the model judge (recording its reason); each
 * writes one verdict per record, so a retry judges only what is left.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { PromptSet, SpecialWords, Taxonomy } from '../../config/assets';
import { findClass } from '../../config/assets';
import type { Db } from '../../db/client';
import { verdicts } from '../../db/schema';
import type { BatchCounts, SftBatchInput } from '../contracts';
import {
  countVerdict,
  emptyBatch,
  judgeRecords,
  recordsAwaiting,
  writeRecords,
  type ImageRow,
  type RecordRow,
  type StoredRecord,
  type Verdict,
} from '../database/records';
import { heartbeat } from '../heartbeat';
import { ModelRejectedError, type ModelGateway, type ModelRequest } from './gateway';
import { checkLabel, findBox } from './label-check';
import { mapSettled, rethrowFirst } from './limit';
import { parseAugmentation, parseJudge, type Parsed } from './parse';
import { formatBox, renderAugmentPrompt, renderJudgePrompt, renderRepairPrompt, type Box } from './prompts';
import { createSpecialWordsFilter } from './special-words';

export interface SftDeps {
  db: Db;
  gateway: ModelGateway;
  taxonomy: Taxonomy;
  prompts: PromptSet;
  specialWords: SpecialWords;
}

/** Sends a text request, re-asking once with the parse error when the reply does not parse. */
async function askParsed<T>(
  deps: SftDeps,
  buildId: string,
  request: ModelRequest,
  parse: (text: string) => Parsed<T>,
): Promise<Parsed<T> & { model: string }> {
  let reply = await deps.gateway.complete(buildId, request);
  let parsed = parse(reply.content);
  if (!parsed.ok) {
    const history = [
      { role: 'assistant' as const, content: reply.content },
      { role: 'user' as const, content: renderRepairPrompt(deps.prompts, parsed.error, 'json') },
    ];
    reply = await deps.gateway.complete(buildId, { ...request, history });
    parsed = parse(reply.content);
  }
  return { ...parsed, model: reply.servedModel };
}

function textRequest(deps: SftDeps, model: string, prompt: string): ModelRequest {
  return {
    role: 'text',
    model,
    system: deps.prompts.system,
    prompt,
    style: 'chat',
    responseFormat: 'json',
    temperature: 0.7,
    maxTokens: 1024,
  };
}

export function createAugmentRecords(deps: SftDeps) {
  return async function augmentRecords(input: SftBatchInput): Promise<BatchCounts> {
    const counts = emptyBatch();
    const parents = await recordsAwaiting(deps.db, input.buildId, input.range, 'augment', {
      set: 'sft',
      origin: 'generated',
    });
    let finished = 0;
    const results = await mapSettled(parents, input.sft.concurrency, async ({ record, image }) => {
      const out = await augmentOne(deps, input, record, image);
      await writeRecords(deps.db, input.buildId, out.children);
      // The parent's own augment verdict goes last, so a crash before it re-runs the whole pair.
      await deps.db
        .insert(verdicts)
        .values({ buildId: input.buildId, recordId: record.id, ...out.verdict })
        .onConflictDoNothing();
      countVerdict(counts, out.verdict);
      counts.created = (counts.created ?? 0) + out.children.length;
      heartbeat({ done: ++finished, total: parents.length });
    });
    rethrowFirst(results);
    return counts;
  };
}

async function augmentOne(
  deps: SftDeps,
  input: SftBatchInput,
  parent: StoredRecord,
  image: ImageRow,
): Promise<{ verdict: Verdict; children: { record: RecordRow; verdicts: Verdict[] }[] }> {
  const request = textRequest(
    deps,
    input.model,
    renderAugmentPrompt(deps.prompts, parent.question ?? '', parent.answer ?? ''),
  );
  let parsed;
  try {
    parsed = await askParsed(deps, input.buildId, request, parseAugmentation);
  } catch (err) {
    if (!(err instanceof ModelRejectedError)) throw err;
    return {
      verdict: { stage: 'augment', verdict: 'failed', reason: err.reason, detail: { error: err.message } },
      children: [],
    };
  }
  if (!parsed.ok) {
    return {
      verdict: { stage: 'augment', verdict: 'failed', reason: 'unparsable_output', detail: { error: parsed.error } },
      children: [],
    };
  }
  const children = parsed.value.map((pair, k) => {
    const record: RecordRow = {
      id: `${parent.id}:aug${k + 1}`,
      buildId: input.buildId,
      imageSeq: parent.imageSeq,
      set: 'sft',
      task: parent.task,
      origin: 'augmented',
      parentId: parent.id,
      question: pair.question,
      answer: pair.answer,
      box: parent.box,
      model: parsed.model,
      promptVersion: deps.prompts.version,
      status: 'active',
      stage: 'augment_check',
    };
    const v = checkChild(deps.taxonomy, parent, image, pair.answer);
    const kept = v.verdict === 'kept';
    return { record: kept ? record : { ...record, status: 'dropped', reason: v.reason }, verdicts: [v] };
  });
  return { verdict: { stage: 'augment', verdict: 'kept' }, children };
}

const sameBox = (a: Box, b: Box) => a.every((v, i) => Math.abs(v - b[i]!) < 0.05);

/**
 * The checks an augmented pair must pass to inherit its parent's image, class, task and box: a
 * localization answer still holds the parent's box, and an answer to a coarse or fine question
 * still agrees with the image's class (the same rule generation applies).
 */
export function checkChild(taxonomy: Taxonomy, parent: StoredRecord, image: ImageRow, answer: string): Verdict {
  const box = parent.box as Box | null;
  if (box) {
    const found = findBox(answer);
    if (!found) {
      return {
        stage: 'augment_check',
        verdict: 'dropped',
        reason: 'localization_box_missing',
        detail: { expected: formatBox(box) },
      };
    }
    if (!sameBox(found, box)) {
      return {
        stage: 'augment_check',
        verdict: 'dropped',
        reason: 'localization_box_changed',
        detail: { expected: formatBox(box), found: formatBox(found) },
      };
    }
  }
  const cls = findClass(taxonomy, image.className ?? '');
  if (cls && (parent.task === 'coarse' || parent.task === 'fine')) {
    const mismatch = checkLabel(taxonomy, parent.task, cls, answer);
    if (mismatch)
      return { stage: 'augment_check', verdict: 'dropped', reason: mismatch, detail: { className: cls.name } };
  }
  return { stage: 'augment_check', verdict: 'kept' };
}

export function createFilterRecords(deps: SftDeps) {
  const special = createSpecialWordsFilter(deps.specialWords.phrases);
  return async function filterRecords(input: SftBatchInput): Promise<BatchCounts> {
    const counts = emptyBatch();
    const { sft } = input;
    const last = sft.judge ? 'judge' : 'special_words';
    const pending = await recordsAwaiting(deps.db, input.buildId, input.range, last, { set: 'sft' });
    const ids = pending.map((p) => p.record.id);
    const passedWords = new Set(
      ids.length
        ? (
            await deps.db
              .select({ id: verdicts.recordId })
              .from(verdicts)
              .where(and(inArray(verdicts.recordId, ids), eq(verdicts.stage, 'special_words')))
          ).map((r) => r.id)
        : [],
    );
    let finished = 0;
    const results = await mapSettled(pending, sft.concurrency, async ({ record, image }) => {
      const judged: { id: string; verdict: Verdict }[] = [];
      if (sft.specialWords && !passedWords.has(record.id)) {
        const found = special.matchPair(record);
        judged.push({
          id: record.id,
          verdict: found
            ? {
                stage: 'special_words',
                verdict: 'dropped',
                reason: 'special_words',
                detail: { phrase: found.phrase, field: found.field, list: deps.specialWords.version },
              }
            : { stage: 'special_words', verdict: 'kept' },
        });
      }
      if (sft.judge && judged[0]?.verdict.verdict !== 'dropped') {
        const cls = findClass(deps.taxonomy, image.className ?? '');
        const label = sft.judgeSeesLabel && cls ? { attack: cls.attack, className: cls.name } : undefined;
        judged.push({ id: record.id, verdict: await judgeOne(deps, input, record, label) });
      }
      await judgeRecords(deps.db, input.buildId, judged);
      const final = judged[judged.length - 1];
      if (final) countVerdict(counts, final.verdict);
      heartbeat({ done: ++finished, total: pending.length });
    });
    rethrowFirst(results);
    return counts;
  };
}

async function judgeOne(
  deps: SftDeps,
  input: SftBatchInput,
  record: StoredRecord,
  label?: { attack: boolean; className: string },
): Promise<Verdict> {
  const prompt = renderJudgePrompt(deps.prompts, record.question ?? '', record.answer ?? '', label);
  try {
    const parsed = await askParsed(deps, input.buildId, textRequest(deps, input.model, prompt), parseJudge);
    if (!parsed.ok)
      return { stage: 'judge', verdict: 'failed', reason: 'judge_unparsable', detail: { error: parsed.error } };
    return parsed.value.correspond
      ? { stage: 'judge', verdict: 'kept', detail: { reason: parsed.value.reason, model: parsed.model } }
      : {
          stage: 'judge',
          verdict: 'dropped',
          reason: 'judge_rejected',
          detail: { reason: parsed.value.reason, model: parsed.model },
        };
  } catch (err) {
    if (!(err instanceof ModelRejectedError)) throw err;
    return { stage: 'judge', verdict: 'failed', reason: err.reason, detail: { error: err.message } };
  }
}
