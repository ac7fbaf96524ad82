/**
 * Pure helpers for fanning a stage out over batches: bounded parallelism and count arithmetic.
 * Deterministic, so workflows may use them.
 */
import type { BatchCounts } from '../activities/contracts';

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

/**
 * Runs `run` over every unit (a seq range, a bucket) with at most `parallel` in flight, calling
 * `onDone` as each finishes. When `stop` turns true, no new unit starts; the units in flight finish
 * and the ones never started are returned, so the caller can carry them into a new run. `stop` is
 * asked only after a unit has finished, so every call makes progress.
 */
export async function runInBatches<U, T>(
  units: readonly U[],
  parallel: number,
  run: (unit: U) => Promise<T>,
  onDone: (result: T, unit: U) => void,
  stop: () => boolean = () => false,
): Promise<U[]> {
  let next = 0;
  let finished = 0;
  const lane = async (): Promise<void> => {
    while (next < units.length && !(finished > 0 && stop())) {
      const unit = units[next++]!;
      onDone(await run(unit), unit);
      finished += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, units.length)) }, lane));
  return units.slice(next);
}
