/**
 * The funnel, read from the database: for every stage, how many items came in, were kept, and
 * were dropped or failed by reason. Each stage writes exactly one verdict per item it sees, so
 * in = kept + dropped + failed holds by construction and can be checked against the rows, at
 * any moment of a running build as well as at its end. The selection stages (SFT and pretrain)
 * also report, per class × task × source stratum, its share of the target and any shortfall.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import type { FunnelStage } from '../contracts';
import { SELECTION_STAGES } from './selection';

export const STAGE_ORDER = [
  'ingest',
  'generate',
  'label_check',
  'clip_filter',
  'pretrain_selection',
  'augment',
  'augment_check',
  'special_words',
  'judge',
  'near_duplicate',
  'selection',
  'review',
] as const;

export async function readFunnel(db: Db, buildId: string): Promise<FunnelStage[]> {
  const rows = await queryRows<{ stage: string; verdict: string; reason: string | null; n: string }>(
    db,
    sql`select 'ingest' as stage,
               case status when 'ok' then 'kept' when 'excluded' then 'dropped' else 'failed' end as verdict,
               reason, count(*) as n
          from images where build_id = ${buildId} group by 1, 2, 3
        union all
        select stage, verdict, reason, count(*) as n from verdicts where build_id = ${buildId} group by 1, 2, 3`,
  );
  const byStage = new Map<string, FunnelStage>();
  for (const r of rows) {
    const s = byStage.get(r.stage) ?? { stage: r.stage, in: 0, kept: 0, dropped: {}, failed: {} };
    const n = Number(r.n);
    s.in += n;
    if (r.verdict === 'kept') s.kept += n;
    else {
      const bucket = r.verdict === 'dropped' ? s.dropped : s.failed;
      const reason = r.reason ?? 'unspecified';
      bucket[reason] = (bucket[reason] ?? 0) + n;
    }
    byStage.set(r.stage, s);
  }
  const rank = (s: string) => {
    const i = (STAGE_ORDER as readonly string[]).indexOf(s);
    return i < 0 ? STAGE_ORDER.length : i;
  };
  for (const stage of Object.values(SELECTION_STAGES)) {
    const selection = byStage.get(stage);
    if (selection) selection.selection = await readSelection(db, buildId, stage);
  }
  return [...byStage.values()].sort((a, b) => rank(a.stage) - rank(b.stage));
}

/** The selection stage per stratum, from the share and target each selection verdict records. */
async function readSelection(db: Db, buildId: string, stage: string): Promise<NonNullable<FunnelStage['selection']>> {
  const rows = await queryRows<{
    stratum: string;
    share: number | null;
    target: number | null;
    available: string;
    selected: string;
  }>(
    db,
    sql`select detail->>'stratum' as stratum, max((detail->>'share')::int) as share, max((detail->>'target')::int) as target,
               count(*) as available, count(*) filter (where verdict = 'kept') as selected
          from verdicts where build_id = ${buildId} and stage = ${stage}
         group by 1 order by 1`,
  );
  const strata = rows.map((r) => {
    const parts = (r.stratum ?? '').split('/');
    const source = parts.pop() ?? '';
    const task = parts.pop() ?? '';
    const share = Number(r.share ?? 0);
    const selected = Number(r.selected);
    return {
      stratum: r.stratum ?? '',
      className: parts.join('/'),
      task,
      source,
      available: Number(r.available),
      share,
      selected,
      shortfall: Math.max(0, share - selected),
    };
  });
  const target = Math.max(0, ...rows.map((r) => Number(r.target ?? 0)));
  const selected = strata.reduce((a, s) => a + s.selected, 0);
  return {
    target,
    available: strata.reduce((a, s) => a + s.available, 0),
    selected,
    shortfall: Math.max(0, target - selected),
    strata,
  };
}
