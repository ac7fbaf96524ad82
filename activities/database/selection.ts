/**
 * Selection to target: after filtering, the SFT pairs (or the pretrain descriptions the CLIP
 * filter kept) are drawn per class × task × source stratum so that the set reaches the configured
 * target, or every record is kept and the shortfall is reported per stratum. Pairs left out are dropped with `not_selected`, so the funnel still adds
 * up. Within a stratum generated pairs come before augmented ones, each ordered by a hash of the
 * record id: the draw is the same on every run and every retry.
 */
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import type { SelectionInput, SelectionOutput, SelectionReport, StratumReport } from '../contracts';
import { heartbeat } from '../heartbeat';
import type { Verdict } from './records';
import { writeStageDecisions, type Decision } from './stage-verdicts';

/** The funnel stage each set's selection writes its verdicts under. */
export const SELECTION_STAGES = { sft: 'selection', pretrain: 'pretrain_selection' } as const;

export type SelectionMode = 'balanced' | 'proportional';

/**
 * How many pairs each stratum contributes. `share` is what the stratum would give with unlimited
 * pairs (an equal split for `balanced`, its share of the pool for `proportional`); `selected` is
 * what it gives from what it has. Under `balanced`, the share a small stratum cannot fill goes to
 * the others, evenly, so the target is met whenever the pool holds enough.
 */
export function allocate(
  available: readonly number[],
  target: number,
  mode: SelectionMode,
): { share: number[]; selected: number[] } {
  const total = available.reduce((a, b) => a + b, 0);
  const weights = mode === 'balanced' ? available.map(() => 1) : available.map((n) => n);
  const share = largestRemainder(weights, target);
  if (mode === 'proportional') return { share, selected: share.map((s, i) => Math.min(s, available[i]!)) };

  const selected = available.map(() => 0);
  let remaining = Math.min(target, total);
  const order = available.map((_, i) => i).sort((a, b) => available[a]! - available[b]! || a - b);
  order.forEach((i, pos) => {
    const give = Math.min(available[i]!, Math.floor(remaining / (order.length - pos)));
    selected[i] = give;
    remaining -= give;
  });
  // The floors above leave fewer pairs than strata over: one more to each stratum with room.
  while (remaining > 0) {
    let moved = false;
    for (let i = 0; i < selected.length && remaining > 0; i++) {
      if (selected[i]! < available[i]!) {
        selected[i]! += 1;
        remaining -= 1;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return { share, selected };
}

/** Splits `total` in proportion to `weights` in whole numbers that sum to `total` (ties by index). */
function largestRemainder(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const byFraction = exact.map((x, i) => ({ i, f: x - Math.floor(x) })).sort((a, b) => b.f - a.f || a.i - b.i);
  for (const { i } of byFraction) {
    if (left <= 0) break;
    out[i]! += 1;
    left -= 1;
  }
  return out;
}

interface PoolRow {
  id: string;
  origin: string;
  task: string;
  class_name: string;
  source: string;
  verdict: Verdict['verdict'] | null;
  reason: string | null;
}

const rank = (id: string) => crypto.createHash('sha256').update(id).digest('hex');

export async function selectSftRecords(db: Db, input: SelectionInput): Promise<SelectionOutput> {
  return selectRecords(db, input, 'sft');
}

export async function selectPretrainRecords(db: Db, input: SelectionInput): Promise<SelectionOutput> {
  return selectRecords(db, input, 'pretrain');
}

async function selectRecords(db: Db, input: SelectionInput, set: 'sft' | 'pretrain'): Promise<SelectionOutput> {
  const { buildId, target, mode } = input;
  const STAGE = SELECTION_STAGES[set];
  // The pool is every record of the set that reached this stage: still live, or already decided here.
  const rows = await queryRows<PoolRow>(
    db,
    sql`select r.id, r.origin, r.task, coalesce(i.class_name, '') as class_name, i.source, v.verdict, v.reason
          from records r
          join images i on i.seq = r.image_seq
          left join verdicts v on v.record_id = r.id and v.stage = ${STAGE}
         where r.build_id = ${buildId} and r.set = ${set} and (r.status = 'active' or v.id is not null)`,
  );
  const strata = new Map<string, { className: string; task: string; source: string; rows: PoolRow[] }>();
  for (const r of rows) {
    const key = `${r.class_name}/${r.task}/${r.source}`;
    const s = strata.get(key) ?? { className: r.class_name, task: r.task, source: r.source, rows: [] };
    s.rows.push(r);
    strata.set(key, s);
  }
  const keys = [...strata.keys()].sort();
  const { share, selected } = allocate(
    keys.map((k) => strata.get(k)!.rows.length),
    target,
    mode,
  );

  const decisions: Decision[] = [];
  const report: StratumReport[] = [];
  keys.forEach((key, k) => {
    const s = strata.get(key)!;
    const ordered = s.rows
      .map((r) => ({ r, order: `${r.origin === 'generated' ? 0 : 1}${rank(r.id)}` }))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    let kept = 0;
    ordered.forEach(({ r }, n) => {
      const detail = { stratum: key, share: share[k], target };
      const verdict: Verdict = r.verdict
        ? { stage: STAGE, verdict: r.verdict, reason: r.reason ?? undefined }
        : n < selected[k]!
          ? { stage: STAGE, verdict: 'kept', detail }
          : { stage: STAGE, verdict: 'dropped', reason: 'not_selected', detail };
      if (verdict.verdict === 'kept') kept += 1;
      decisions.push({ id: r.id, stored: r.verdict !== null, verdict });
    });
    report.push({
      stratum: key,
      className: s.className,
      task: s.task,
      source: s.source,
      available: s.rows.length,
      share: share[k]!,
      selected: kept,
      shortfall: Math.max(0, share[k]! - kept),
    });
  });

  const counts = await writeStageDecisions(db, buildId, decisions, (written) =>
    heartbeat({ written, total: decisions.length }),
  );
  const chosen = report.reduce((a, s) => a + s.selected, 0);
  const summary: SelectionReport = {
    target,
    mode,
    available: rows.length,
    selected: chosen,
    shortfall: Math.max(0, target - chosen),
    strata: report,
  };
  return { ...counts, report: summary };
}
