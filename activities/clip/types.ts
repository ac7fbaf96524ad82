/** Shared types of the CLIP scoring activity. */

/** Class name used for records whose image has none. */
export const UNCLASSIFIED = 'unclassified';

/** Structured logger the CLIP code reports through (activities never print). */
export interface ClipLogger {
  /** Informational event. */
  info(msg: string, attrs?: Record<string, unknown>): void;
  /** Something degraded but recoverable, such as the CPU fallback. */
  warn(msg: string, attrs?: Record<string, unknown>): void;
}

/** The threshold a CLIP filter applied, as recorded in its verdicts. */
export interface ClipThresholdReport {
  mode: 'absolute' | 'top-fraction';
  /** The score needed to be kept when it is the same for every class. */
  threshold?: number;
  /** top-fraction: the share of descriptions kept (of all, or of each class with `perClass`). */
  keepFraction?: number;
  perClass: boolean;
  /** The score a description of each class needed to be kept. */
  byClass: Record<string, number>;
}

/** Summary of a set of scores: quantiles by linear interpolation, and a histogram. */
export interface ScoreDistribution {
  count: number;
  min: number;
  p05: number;
  p25: number;
  median: number;
  p75: number;
  p95: number;
  max: number;
  mean: number;
  /** `counts[i]` scores fall in [edges[i], edges[i+1]) (the last bin includes its upper edge). */
  histogram: { edges: number[]; counts: number[] };
}

/** The CLIP scores of one class of records and what the filter made of them. */
export interface ClassScores {
  kept: number;
  dropped: number;
  failed: number;
  /** The distribution of raw scores; null when no record of the class was scored. */
  scores: ScoreDistribution | null;
}

/** Per-class CLIP score distribution of a build, and the threshold that was applied. */
export interface ClipScoreStats {
  /** Model id the verdicts name, when any verdict names one. */
  model: string | null;
  threshold: ClipThresholdReport | null;
  all: ClassScores;
  byClass: Record<string, ClassScores>;
}
