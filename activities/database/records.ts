/**
 * Record and verdict writes. A record and the verdicts that decide its fate are written in one
 * transaction, keyed by record id and (record, stage), so a retried batch never duplicates them.
 */
import { and, between, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { images, records, verdicts } from '../../db/schema';
import type { BatchCounts, SeqRange } from '../contracts';

export type RecordRow = typeof records.$inferInsert;
export type ImageRow = typeof images.$inferSelect;
export type StoredRecord = typeof records.$inferSelect;

export interface Verdict {
  stage: string;
  verdict: 'kept' | 'dropped' | 'failed';
  reason?: string;
  detail?: unknown;
}

export async function writeRecords(db: Db, buildId: string, rows: { record: RecordRow; verdicts: Verdict[] }[]) {
  if (rows.length === 0) return;
  await db.transaction(async (tx) => {
    await tx
      .insert(records)
      .values(rows.map((r) => r.record))
      .onConflictDoNothing();
    const vs = rows.flatMap((r) => r.verdicts.map((v) => ({ buildId, recordId: r.record.id, ...v })));
    if (vs.length) await tx.insert(verdicts).values(vs).onConflictDoNothing();
  });
}

/** Records a stage's verdict on existing records and moves the ones that leave to their final status. */
export async function judgeRecords(
  db: Db,
  buildId: string,
  judged: { id: string; verdict: Verdict; clipScore?: number }[],
): Promise<void> {
  if (judged.length === 0) return;
  await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(verdicts)
      .values(judged.map((j) => ({ buildId, recordId: j.id, ...j.verdict })))
      .onConflictDoNothing()
      .returning({ recordId: verdicts.recordId, stage: verdicts.stage });
    // Only a verdict that was written may move its record, so status and verdict always agree.
    const fresh = new Set(inserted.map((v) => `${v.recordId}\u0000${v.stage}`));
    for (const j of judged) {
      if (!fresh.has(`${j.id}\u0000${j.verdict.stage}`)) continue;
      const leaving = j.verdict.verdict !== 'kept';
      await tx
        .update(records)
        .set({
          stage: j.verdict.stage,
          ...(j.clipScore !== undefined ? { clipScore: j.clipScore } : {}),
          ...(leaving ? { status: j.verdict.verdict, reason: j.verdict.reason ?? null } : {}),
        })
        .where(and(eq(records.id, j.id), eq(records.status, 'active')));
    }
  });
}

export async function imagesInRange(db: Db, buildId: string, range: SeqRange): Promise<ImageRow[]> {
  return db
    .select()
    .from(images)
    .where(and(eq(images.buildId, buildId), eq(images.status, 'ok'), between(images.seq, range.from, range.to)))
    .orderBy(images.seq);
}

/** Active records in a range that have no verdict yet for `stage`, with the image each describes. */
export async function recordsAwaiting(
  db: Db,
  buildId: string,
  range: SeqRange,
  stage: string,
  filter: { set?: string; origin?: string } = {},
): Promise<{ record: StoredRecord; image: ImageRow }[]> {
  const rows = await db
    .select({ record: records, image: images })
    .from(records)
    .innerJoin(images, eq(images.seq, records.imageSeq))
    .where(
      and(
        eq(records.buildId, buildId),
        eq(records.status, 'active'),
        between(records.seq, range.from, range.to),
        filter.set ? eq(records.set, filter.set) : undefined,
        filter.origin ? eq(records.origin, filter.origin) : undefined,
        sql`not exists (select 1 from ${verdicts} v where v.record_id = ${records.id} and v.stage = ${stage})`,
      ),
    )
    .orderBy(records.seq);
  return rows;
}

export async function existingIds(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.select({ id: records.id }).from(records).where(inArray(records.id, ids));
  return new Set(rows.map((r) => r.id));
}

export function countVerdict(counts: BatchCounts, v: Verdict): void {
  counts.in += 1;
  if (v.verdict === 'kept') counts.kept += 1;
  else {
    const bucket = v.verdict === 'dropped' ? counts.dropped : counts.failed;
    const reason = v.reason ?? 'unspecified';
    bucket[reason] = (bucket[reason] ?? 0) + 1;
  }
}

export const emptyBatch = (): BatchCounts => ({ in: 0, kept: 0, dropped: {}, failed: {}, created: 0, alreadyDone: 0 });
