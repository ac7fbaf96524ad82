/**
 * The contract between workflows and activities: every activity's input and output, and the
 * interface the worker's activity factories implement. Workflows import this file with
 * `import type` only. Between the two pass ids, ranges and counts, never image bytes or long text.
 */
import type { ResolvedBuildInput, Task } from '../config/build-input';

export type { BuildInput, ResolvedBuildInput, Task } from '../config/build-input';

/** An inclusive range of `seq` values, the unit of a batch. */
export interface SeqRange {
  from: number;
  to: number;
  count: number;
}

/** Counts an activity reports for one batch; reasons are short snake_case codes. */
export interface BatchCounts {
  in: number;
  kept: number;
  dropped: Record<string, number>;
  failed: Record<string, number>;
  /** Records created by the batch (augmentation). */
  created?: number;
  /** Items skipped because an earlier attempt finished them. */
  alreadyDone?: number;
}

export interface FunnelStage {
  stage: string;
  in: number;
  kept: number;
  dropped: Record<string, number>;
  failed: Record<string, number>;
}

export interface PrepareBuildInput {
  buildId: string;
  raw: unknown;
}
export interface PreparedBuild {
  input: ResolvedBuildInput;
  exportDir: string;
  models: { vision: string; text: string };
}

export interface IngestInput {
  buildId: string;
  input: ResolvedBuildInput;
}

export interface PlanInput {
  buildId: string;
  kind: 'images' | 'records';
  set?: 'pretrain' | 'sft';
  origin?: 'generated' | 'augmented';
  batchSize: number;
}

export interface GenerateInput {
  buildId: string;
  range: SeqRange;
  tasks: Task[];
  generation: ResolvedBuildInput['generation'];
  model: string;
}

export interface ScoreInput {
  buildId: string;
  range: SeqRange;
  clip: ResolvedBuildInput['clip'];
}
export interface ScoreOutput extends BatchCounts {
  modelId: string;
  standIn: boolean;
  provider: string;
}

export interface SftBatchInput {
  buildId: string;
  range: SeqRange;
  sft: ResolvedBuildInput['sft'];
  model: string;
}

export interface ReviewStateInput {
  buildId: string;
}
export interface ReviewState {
  pending: number;
  bySet: Record<string, number>;
}

export interface ExportInput {
  buildId: string;
  prepared: PreparedBuild;
  clipModel?: { modelId: string; standIn: boolean; provider: string };
  review: { reviewer: string; note?: string; approvedAt: string } | { skipped: true };
}
export interface ExportOutput {
  dir: string;
  counts: { pretrain: number; sft: number };
  funnel: FunnelStage[];
}

export interface PipelineActivities {
  prepareBuild(input: PrepareBuildInput): Promise<PreparedBuild>;
  ingestSources(input: IngestInput): Promise<BatchCounts>;
  planBatches(input: PlanInput): Promise<SeqRange[]>;
  describeReview(input: ReviewStateInput): Promise<ReviewState>;
  exportBuild(input: ExportInput): Promise<ExportOutput>;
}

export interface LlmActivities {
  generateRecords(input: GenerateInput): Promise<BatchCounts>;
  augmentRecords(input: SftBatchInput): Promise<BatchCounts>;
  filterRecords(input: SftBatchInput): Promise<BatchCounts>;
}

export interface ClipActivities {
  scoreRecords(input: ScoreInput): Promise<ScoreOutput>;
}

/** Failure `type` strings for non-retryable application failures. */
export type FailureType =
  | 'BuildInputError'
  | 'SourceError'
  | 'ModelRequestRejected'
  | 'ClipModelMissing'
  | 'ExportError';
