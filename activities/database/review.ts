/**
 * Review-gate helpers: what awaits review, and the verdict the gate writes on release.
 */
import { and, eq, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { records } from '../../db/schema';
import type { ReviewState } from '../contracts';

export async function describeReview(db: Db, buildId: string): Promise<ReviewState> {
  const rows = await queryRows<{ set: string; n: string }>(
    db,
    sql`select set, count(*) as n from records where build_id = ${buildId} and status = 'active' group by set`,
  );
  const bySet = Object.fromEntries(rows.map((r) => [r.set, Number(r.n)]));
  return { pending: rows.reduce((s, r) => s + Number(r.n), 0), bySet };
}

/** Writes the review verdict for every record still active: approved by the named reviewer. */
export async function recordApproval(db: Db, buildId: string, reviewer: string, note?: string): Promise<void> {
  await db.execute(sql`
    insert into verdicts (build_id, record_id, stage, verdict, detail)
    select build_id, id, 'review', 'kept', ${JSON.stringify({ reviewer, note: note ?? null })}::jsonb
      from records where build_id = ${buildId} and status = 'active'
    on conflict (record_id, stage) do nothing`);
  await db.update(records).set({ stage: 'review' }).where(and(eq(records.buildId, buildId), eq(records.status, 'active')));
}
