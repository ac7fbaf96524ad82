/**
 * The CLIP score distribution of a build, per class, read from the database: quantiles, mean and
 * a histogram of the raw scores stored on pretrain records, the counts kept, dropped and failed,
 * and the threshold each class was held to (taken from the verdicts, so it is what was applied).
 */
import { sql } from 'drizzle-orm';

import { queryRows, type Db } from '../../db/client';
import {
  UNCLASSIFIED,
  type ClassScores,
  type ClipScoreStats,
  type ClipThresholdReport,
  type ScoreDistribution,
} from './types';

/** Histogram bin width: fine enough to see where a 0.15 threshold cuts. */
const BIN_WIDTH = 0.02;
const MAX_BINS = 100;

interface Row {
  class_name: string;
  score: number | null;
  verdict: 'kept' | 'dropped' | 'failed' | null;
  threshold: number | null;
  mode: string | null;
  keep_fraction: number | null;
  per_class: boolean | null;
  model: string | null;
}

/** Reads the per-class score distribution and the applied threshold of `buildId`'s CLIP filter. */
export async function clipScoreStats(db: Db, buildId: string): Promise<ClipScoreStats> {
  const rows = await queryRows<Row>(
    db,
    sql`select coalesce(i.class_name, ${UNCLASSIFIED}) as class_name, r.clip_score as score, v.verdict,
               (v.detail->>'threshold')::double precision as threshold, v.detail->>'mode' as mode,
               (v.detail->>'keepFraction')::double precision as keep_fraction,
               (v.detail->>'perClass')::boolean as per_class, v.detail->>'model' as model
          from records r
          join images i on i.seq = r.image_seq
          left join verdicts v on v.record_id = r.id and v.stage = 'clip_filter'
         where r.build_id = ${buildId} and r.set = 'pretrain' and (r.clip_score is not null or v.verdict is not null)`,
  );
  const scores = rows.filter((r) => r.score !== null).map((r) => Number(r.score));
  const edges = binEdges(scores);
  const classes = [...new Set(rows.map((r) => r.class_name))].sort();
  const byClass: Record<string, ClassScores> = {};
  for (const name of classes)
    byClass[name] = summarise(
      rows.filter((r) => r.class_name === name),
      edges,
    );
  return {
    model: rows.find((r) => r.model !== null)?.model ?? null,
    threshold: thresholdOf(rows),
    all: summarise(rows, edges),
    byClass,
  };
}

function summarise(rows: readonly Row[], edges: number[]): ClassScores {
  const count = (v: Row['verdict']): number => rows.filter((r) => r.verdict === v).length;
  const scores = rows.filter((r) => r.score !== null).map((r) => Number(r.score));
  return {
    kept: count('kept'),
    dropped: count('dropped'),
    failed: count('failed'),
    scores: distribution(scores, edges),
  };
}

/** Quantiles (linear interpolation between order statistics), mean and a histogram over `edges`. */
export function distribution(values: readonly number[], edges: readonly number[]): ScoreDistribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number): number => {
    const pos = p * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
  };
  const counts = new Array<number>(Math.max(0, edges.length - 1)).fill(0);
  const width = (edges[1] ?? 1) - (edges[0] ?? 0);
  for (const v of sorted) {
    let bin = Math.floor((v - (edges[0] as number)) / width + 1e-9);
    bin = Math.max(0, Math.min(counts.length - 1, bin));
    counts[bin] = (counts[bin] as number) + 1;
  }
  return {
    count: sorted.length,
    min: sorted[0] as number,
    p05: q(0.05),
    p25: q(0.25),
    median: q(0.5),
    p75: q(0.75),
    p95: q(0.95),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    histogram: { edges: [...edges], counts },
  };
}

/** Bin edges of width {@link BIN_WIDTH} covering every score, shared by all classes so they compare. */
export function binEdges(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const lo = Math.floor(min / BIN_WIDTH) * BIN_WIDTH;
  const bins = Math.min(MAX_BINS, Math.floor((max - lo) / BIN_WIDTH + 1e-9) + 1);
  const width = bins === MAX_BINS ? Math.max((max - lo) / MAX_BINS, BIN_WIDTH) : BIN_WIDTH;
  return Array.from({ length: bins + 1 }, (_, i) => Math.round((lo + i * width) * 1e6) / 1e6);
}

function thresholdOf(rows: readonly Row[]): ClipThresholdReport | null {
  const judged = rows.filter((r) => r.threshold !== null && r.mode !== null);
  const first = judged[0];
  if (first === undefined) return null;
  const byClass: Record<string, number> = {};
  for (const r of judged) byClass[r.class_name] = Number(r.threshold);
  const values = new Set(Object.values(byClass));
  return {
    mode: first.mode === 'top-fraction' ? 'top-fraction' : 'absolute',
    ...(values.size === 1 ? { threshold: [...values][0] as number } : {}),
    ...(first.keep_fraction !== null ? { keepFraction: Number(first.keep_fraction) } : {}),
    perClass: first.per_class === true,
    byClass,
  };
}
