/**
 * Signal, query and update definitions that users address by name from `temporal workflow
 * signal|query` and from the fasforge CLI. Their names are a public interface: do not rename.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchCounts, FunnelStage, ReviewDecision, ReviewItem, SelectionReport } from '../activities/contracts';

export type { ReviewDecision, ReviewDecisionKind, ReviewItem } from '../activities/contracts';

export interface ApproveReview {
  reviewer: string;
  note?: string;
}

export interface StageProgress {
  stage: string;
  state: 'waiting' | 'running' | 'done';
  batchesDone: number;
  batchesTotal: number;
  counts: BatchCounts;
  /** A selection step (the SFT draw, or the pretrain draw after the CLIP filter): target, shortfall and the count per class × task × source stratum. */
  selection?: SelectionReport;
  /** Stage `review`: why the gate stays closed after the last `approveReview`, and what to do. */
  blocked?: string;
}

export interface BuildProgress {
  buildId: string;
  stage: string;
  stages: StageProgress[];
  /** Child workflows whose own `progress` query has finer detail while they run. */
  children: string[];
  /**
   * The funnel as the database had it at `funnelAt` (refreshed at every stage, and while a long
   * stage runs after 15 s, then at doubling intervals up to 5 minutes): per stage, in = kept +
   * dropped + failed, with reasons; the selection stage adds its shortfall per stratum.
   */
  funnel?: FunnelStage[];
  funnelAt?: string;
}

/** A batch of decisions by one reviewer; `buildId`, when given, must name this build. */
export interface ReviewDecisionBatch {
  buildId?: string;
  reviewer: string;
  decisions: ReviewDecision[];
}

export interface ReviewDecisionResult {
  /** Decisions written by this batch. */
  accepted: number;
  /** Decisions identical to one already recorded (a re-sent sheet). */
  unchanged: number;
}

/** A decision the gate refused, and why. */
export interface ReviewRefusal {
  id: string;
  reason: string;
}

export interface ReviewPageRequest {
  offset?: number;
  limit?: number;
}

export interface ReviewProgress {
  /** The gate is open for decisions and waits for `approveReview`. */
  waiting: boolean;
  /** The gate has released the build to export. */
  released: boolean;
  /** Records still awaiting a decision (in sampling mode: sampled records). */
  pending: number;
  approved: number;
  rejected: number;
  revised: number;
  /** Pending records per set. */
  bySet: Record<string, number>;
  /** Records the gate covers: all active records, or the sample. */
  total: number;
  sample?: { perClass: number; size: number; rejectRate: number; maxRejectRate: number };
  /** Why the last `approveReview` was refused, while the gate stays closed. */
  blocked?: string;
  /** Decisions refused so far (update and signal), with the most recent reasons. */
  refused: { total: number; recent: ReviewRefusal[] };
  /** The reviewer whose approval released the gate. */
  reviewer?: string;
  page: { offset: number; limit: number; items: ReviewItem[] };
}

/** A page of the records awaiting review, with their text, image path, label and CLIP score. */
export interface ReviewItemsPageResult {
  offset: number;
  limit: number;
  /** Records awaiting a decision in all. */
  pending: number;
  items: ReviewItem[];
}

/** A new spending cap for a build paused in stage `budget`; it must exceed what was spent. */
export interface RaiseBudget {
  maxUsd: number;
}

export interface BudgetProgress {
  /** The build waits in stage `budget` for a `raiseBudget` signal. */
  waiting: boolean;
  maxUsd?: number;
  spentUsd?: number;
  /** How many times the build has paused on its budget. */
  pauses: number;
}

export const approveReviewSignal = defineSignal<[ApproveReview]>('approveReview');
export const raiseBudgetSignal = defineSignal<[RaiseBudget]>('raiseBudget');
export const budgetQuery = defineQuery<BudgetProgress>('budget');
export const reviewDecisionsSignal = defineSignal<[ReviewDecisionBatch]>('reviewDecisions');
export const submitReviewDecisionsUpdate = defineUpdate<ReviewDecisionResult, [ReviewDecisionBatch]>(
  'submitReviewDecisions',
);
/** `{offset, limit}` (limit 0 to 500, default 50; `{}` for the first 50): pending records with their text, read by the workers. */
export const reviewItemsUpdate = defineUpdate<ReviewItemsPageResult, [ReviewPageRequest]>('reviewItems');
export const progressQuery = defineQuery<BuildProgress>('progress');
export const stageProgressQuery = defineQuery<StageProgress[]>('progress');
export const reviewProgressQuery = defineQuery<ReviewProgress, [ReviewPageRequest?]>('reviewProgress');
