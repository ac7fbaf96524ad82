/**
 * Batch planning: splits a build's live images or records into contiguous `seq` ranges of at most
 * `batchSize` rows, so workflows pass a range, not a list of ids.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import type { PlanInput, SeqRange } from '../contracts';

export async function planBatches(db: Db, plan: PlanInput): Promise<SeqRange[]> {
  const where =
    plan.kind === 'images'
      ? sql`build_id = ${plan.buildId} and status = 'ok'`
      : sql`build_id = ${plan.buildId} and status = 'active'
            ${plan.set ? sql`and set = ${plan.set}` : sql``}
            ${plan.origin ? sql`and origin = ${plan.origin}` : sql``}`;
  const table = plan.kind === 'images' ? sql`images` : sql`records`;
  const rows = await queryRows<{ from: string; to: string; count: string }>(
    db,
    sql`
    select min(seq) as "from", max(seq) as "to", count(*) as "count"
    from (select seq, (row_number() over (order by seq) - 1) / ${plan.batchSize} as b from ${table} where ${where}) t
    group by b order by b`,
  );
  return rows.map((r) => ({ from: Number(r.from), to: Number(r.to), count: Number(r.count) }));
}
