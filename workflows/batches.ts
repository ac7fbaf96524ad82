/**
 * Pure helpers for fanning a stage out over batches: bounded parallelism and count arithmetic.
 * Deterministic, so workflows may use them.
 */
import type { BatchCounts, SeqRange } from '../activities/contracts';

export function emptyCounts(): BatchCounts {
  return { in: 0, kept: 0, dropped: {}, failed: {}, created: 0, alreadyDone: 0 };
}

export function addCounts(total: BatchCounts, part: BatchCounts): BatchCounts {
  const merge = (a: Record<string, number>, b: Record<string, number>) => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    in: total.in + part.in,
    kept: total.kept + part.kept,
    dropped: merge(total.dropped, part.dropped),
    failed: merge(total.failed, part.failed),
    created: (total.created ?? 0) + (part.created ?? 0),
    alreadyDone: (total.alreadyDone ?? 0) + (part.alreadyDone ?? 0),
  };
}

/** Runs `run` over every range with at most `parallel` in flight, calling `onDone` as each finishes. */
export async function runInBatches<T>(
  ranges: readonly SeqRange[],
  parallel: number,
  run: (range: SeqRange) => Promise<T>,
  onDone: (result: T) => void,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ranges.length) {
      const range = ranges[next++]!;
      onDone(await run(range));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, ranges.length)) }, lane));
}
