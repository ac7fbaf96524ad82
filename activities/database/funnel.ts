/**
 * The funnel, read from the database: for every stage, how many items came in, were kept, and
 * were dropped or failed by reason. Each stage writes exactly one verdict per item it sees, so
 * in = kept + dropped + failed holds by construction and can be checked against the rows.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import type { FunnelStage } from '../contracts';

export const STAGE_ORDER = [
  'ingest',
  'generate',
  'label_check',
  'clip_filter',
  'augment',
  'augment_check',
  'special_words',
  'judge',
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
  return [...byStage.values()].sort((a, b) => rank(a.stage) - rank(b.stage));
}
