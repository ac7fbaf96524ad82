/**
 * Whole-set stage decisions (near duplicates, selection) written in bulk: one verdict per record
 * and stage, inserted only where none exists, and only a freshly written verdict moves its record.
 * A retried activity recomputes the same decisions, so what it writes again is a no-op.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { records, verdicts } from '../../db/schema';
import type { BatchCounts } from '../contracts';
import { countVerdict, emptyBatch, type Verdict } from './records';

const CHUNK = 1000;

export interface Decision {
  id: string;
  verdict: Verdict;
  /** True when the verdict was already stored before this call. */
  stored: boolean;
}

/** Writes the decisions that are not stored yet; returns the counts over all of them. */
export async function writeStageDecisions(
  db: Db,
  buildId: string,
  decisions: readonly Decision[],
  onChunk?: (written: number) => void,
): Promise<BatchCounts> {
  const counts = emptyBatch();
  for (const d of decisions) {
    countVerdict(counts, d.verdict);
    if (d.stored) counts.alreadyDone = (counts.alreadyDone ?? 0) + 1;
  }
  const todo = decisions.filter((d) => !d.stored);
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    await db.transaction(async (tx) => {
      const inserted = await tx
        .insert(verdicts)
        .values(chunk.map((d) => ({ buildId, recordId: d.id, ...d.verdict })))
        .onConflictDoNothing()
        .returning({ recordId: verdicts.recordId });
      const fresh = new Set(inserted.map((v) => v.recordId));
      const stage = chunk[0]!.verdict.stage;
      const kept = chunk.filter((d) => fresh.has(d.id) && d.verdict.verdict === 'kept').map((d) => d.id);
      if (kept.length) {
        await tx
          .update(records)
          .set({ stage })
          .where(and(inArray(records.id, kept), eq(records.status, 'active')));
      }
      // Leaving records are grouped by (verdict, reason) so each group is one update.
      const leaving = new Map<string, { status: string; reason: string | null; ids: string[] }>();
      for (const d of chunk) {
        if (!fresh.has(d.id) || d.verdict.verdict === 'kept') continue;
        const key = `${d.verdict.verdict}\u0000${d.verdict.reason ?? ''}`;
        const group = leaving.get(key) ?? { status: d.verdict.verdict, reason: d.verdict.reason ?? null, ids: [] };
        group.ids.push(d.id);
        leaving.set(key, group);
      }
      for (const g of leaving.values()) {
        await tx
          .update(records)
          .set({ stage, status: g.status, reason: g.reason })
          .where(and(inArray(records.id, g.ids), eq(records.status, 'active')));
      }
    });
    onChunk?.(Math.min(todo.length, i + CHUNK));
  }
  return counts;
}
