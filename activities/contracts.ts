/**
 * The contract between workflows and activities: every activity's input and output, and the
 * interface the worker's activity factories implement. Workflows import this file with
 * `import type` only. Between the two pass ids, ranges and counts, never image bytes or long text.
 */
import type { ResolvedBuildInput, Task } from '../config/build-input';
import type { ClipScoreStats, ClipThresholdReport } from './clip/types';

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
  /** The selection stage only: target, shortfall and the count per stratum. */
  selection?: Omit<SelectionReport, 'mode'>;
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
  /** Sources without a spoof-region file: their attack images get a counted, dropped localization job. */
  sourcesWithoutRegions?: string[];
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
export interface ClipModelCheckInput {
  buildId: string;
}
export interface ClipModelCheck {
  modelId: string;
  standIn: boolean;
  modelDir: string;
}
export interface ClipThresholdInput {
  buildId: string;
  clip: ResolvedBuildInput['clip'];
  modelId: string;
}
export interface ClipThresholdOutput extends BatchCounts {
  threshold: ClipThresholdReport;
}
export interface ClipStatsInput {
  buildId: string;
}
export type { ClassScores, ClipScoreStats, ClipThresholdReport, ScoreDistribution } from './clip/types';

export interface SftBatchInput {
  buildId: string;
  range: SeqRange;
  sft: ResolvedBuildInput['sft'];
  model: string;
}

export interface PlanNearDuplicatesInput {
  buildId: string;
}
/** One class × task bucket of live SFT pairs, compared with each other for near duplicates. */
export interface NearDuplicateBucket {
  className: string;
  task: string;
  count: number;
}
export interface NearDuplicatesInput {
  buildId: string;
  bucket: NearDuplicateBucket;
  nearDuplicates: ResolvedBuildInput['sft']['nearDuplicates'];
}

export interface SelectionInput {
  buildId: string;
  target: number;
  mode: 'balanced' | 'proportional';
}
/** One class × task × source stratum of the selection: `share` is its part of the target. */
export interface StratumReport {
  stratum: string;
  className: string;
  task: string;
  source: string;
  available: number;
  share: number;
  selected: number;
  shortfall: number;
}
export interface SelectionReport {
  target: number;
  mode: 'balanced' | 'proportional';
  available: number;
  selected: number;
  /** How many pairs the set lacks to reach the target (0 when it is reached). */
  shortfall: number;
  strata: StratumReport[];
}
export interface SelectionOutput extends BatchCounts {
  report: SelectionReport;
}

export interface FunnelInput {
  buildId: string;
}

export interface ReviewStateInput {
  buildId: string;
}
export interface ReviewState {
  pending: number;
  bySet: Record<string, number>;
}

export type ReviewDecisionKind = 'approve' | 'reject' | 'revise';

/** One reviewer decision on one record; `reject` needs a reason, `revise` a new question or answer. */
export interface ReviewDecision {
  id: string;
  decision: ReviewDecisionKind;
  reason?: string;
  question?: string;
  answer?: string;
}

/** A record awaiting review: what the gate needs to check a decision and to list it. */
export interface ReviewItem {
  id: string;
  set: string;
  task: string;
  class: string;
  /** The spoof-region box a localization record's answer must keep. */
  box?: [number, number, number, number];
  /** What a reviewer reads, present when the items were listed by `ids`. */
  question?: string;
  answer?: string;
  image?: string;
  clipScore?: number | null;
}

export interface ReviewItemsInput {
  buildId: string;
  /** Page after this record seq (0 for the first page). */
  afterSeq: number;
  limit: number;
  /** Acceptance sampling: only `perClass` records of each class, picked deterministically by `seed`. */
  sample?: { perClass: number; seed: string };
  /** Only these records (a page of the gate's pending list), with their text, image and CLIP score. */
  ids?: string[];
}
export interface ReviewItemsPage {
  items: ReviewItem[];
  /** The seq to pass as `afterSeq` for the next page; absent on the last page. */
  nextAfterSeq?: number;
}

export interface RecordReviewInput {
  buildId: string;
  reviewer: string;
  decisions: ReviewDecision[];
  /** When the gate took the decisions (ISO 8601). */
  decidedAt?: string;
}

export interface DropUnreviewedInput {
  buildId: string;
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
  /** The dataset version id of the export, when the export derives one; shown as FasforgeDatasetVersion. */
  datasetVersion?: string;
}

export interface PipelineActivities {
  prepareBuild(input: PrepareBuildInput): Promise<PreparedBuild>;
  ingestSources(input: IngestInput): Promise<BatchCounts>;
  planBatches(input: PlanInput): Promise<SeqRange[]>;
  planNearDuplicateBuckets(input: PlanNearDuplicatesInput): Promise<NearDuplicateBucket[]>;
  dropNearDuplicates(input: NearDuplicatesInput): Promise<BatchCounts>;
  selectSftRecords(input: SelectionInput): Promise<SelectionOutput>;
  /** The same draw over the pretrain descriptions the CLIP filter kept. */
  selectPretrainRecords(input: SelectionInput): Promise<SelectionOutput>;
  /** The build's funnel as the database has it now: cheap, for live progress. */
  readFunnel(input: FunnelInput): Promise<FunnelStage[]>;
  describeReview(input: ReviewStateInput): Promise<ReviewState>;
  listReviewItems(input: ReviewItemsInput): Promise<ReviewItemsPage>;
  /** Persists validated decisions; a record's first decision is kept, so a retry writes nothing twice. */
  recordReviewDecisions(input: RecordReviewInput): Promise<{ written: number }>;
  /** Drops every active record without a review decision, reason `unreviewed`. */
  dropUnreviewed(input: DropUnreviewedInput): Promise<{ dropped: number }>;
  exportBuild(input: ExportInput): Promise<ExportOutput>;
  /** Stores a raised spending cap; returns the cap in force and what the build has spent (USD). */
  setBuildBudget(input: { buildId: string; maxUsd: number }): Promise<{ maxUsd?: number; spentUsd: number }>;
}

export interface LlmActivities {
  generateRecords(input: GenerateInput): Promise<BatchCounts>;
  augmentRecords(input: SftBatchInput): Promise<BatchCounts>;
  filterRecords(input: SftBatchInput): Promise<BatchCounts>;
}

export interface ClipActivities {
  /** Fails non-retryably (`ClipModelMissing`) when the CLIP worker's model files are not there. */
  checkClipModel(input: ClipModelCheckInput): Promise<ClipModelCheck>;
  scoreRecords(input: ScoreInput): Promise<ScoreOutput>;
  applyClipThreshold(input: ClipThresholdInput): Promise<ClipThresholdOutput>;
  describeClipScores(input: ClipStatsInput): Promise<ClipScoreStats>;
}

/** Failure `type` strings for non-retryable application failures. */
export type FailureType =
  | 'BuildInputError'
  | 'SourceError'
  | 'SplitLeakage'
  | 'ModelRequestRejected'
  | 'ClipModelMissing'
  | 'ExportError'
  | 'BudgetExhausted'
  | 'ModelPriceUnknown'
  | 'ReviewTimedOut';
