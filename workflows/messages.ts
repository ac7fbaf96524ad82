/**
 * Signal, query and update definitions that users address by name from `temporal workflow
 * signal|query` and from the fasforge CLI. Their names are a public interface: do not rename.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BatchCounts } from '../activities/contracts';

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
}

export interface BuildProgress {
  buildId: string;
  stage: string;
  stages: StageProgress[];
  /** Child workflows whose own `progress` query has finer detail while they run. */
  children: string[];
}

export interface ReviewProgress {
  waiting: boolean;
  approved: boolean;
  pending: number;
  bySet: Record<string, number>;
  reviewer?: string;
}

export const approveReviewSignal = defineSignal<[ApproveReview]>('approveReview');
export const progressQuery = defineQuery<BuildProgress>('progress');
export const stageProgressQuery = defineQuery<StageProgress[]>('progress');
export const reviewProgressQuery = defineQuery<ReviewProgress>('reviewProgress');
