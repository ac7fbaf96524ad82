import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  BatchCounts,
  LlmActivities,
  NearDuplicateBucket,
  PipelineActivities,
  ResolvedBuildInput,
  SeqRange,
  SftBatchInput,
} from '../activities/contracts';
import { addCounts, emptyCounts, runInBatches } from './batches';
import { TASK_QUEUES } from './constants';
import { stageProgressQuery, type StageProgress } from './messages';

const { planBatches, planNearDuplicateBuckets } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '2 minutes',
});
const { dropNearDuplicates, selectSftRecords } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});
const { augmentRecords, filterRecords } = proxyActivities<LlmActivities>({
  taskQueue: TASK_QUEUES.llm,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '3 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
});

type Sft = ResolvedBuildInput['sft'];
type StepKind = 'augment' | 'filter' | 'near_duplicates' | 'selection';

export interface SftStep {
  name: string;
  kind: StepKind;
  origin?: 'generated' | 'augmented';
}

/** What a run hands to the next one when it continues as new. */
export interface SftPipelineState {
  /** Index of the step in progress. */
  step: number;
  steps: StageProgress[];
  /** The current step's units not yet run; absent until the step is planned. */
  ranges?: SeqRange[];
  buckets?: NearDuplicateBucket[];
  runs: number;
}

export interface SftPipelineInput {
  buildId: string;
  input: ResolvedBuildInput;
  model: string;
  state?: SftPipelineState;
}

/** The steps of the configured order: filter → augment → filter again, or augment → filter. */
export function sftSteps(sft: Sft): SftStep[] {
  const filter = sft.judge || sft.specialWords;
  const steps: SftStep[] = [];
  const twice = sft.order === 'filter-augment-filter' && sft.augment && filter;
  if (twice) steps.push({ name: 'sft_filter', kind: 'filter', origin: 'generated' });
  if (sft.augment) steps.push({ name: 'augment', kind: 'augment', origin: 'generated' });
  // The second pass has only the new pairs to judge: the generated ones were judged before.
  if (filter && twice) steps.push({ name: 'sft_refilter', kind: 'filter', origin: 'augmented' });
  else if (filter) steps.push({ name: 'sft_filter', kind: 'filter' });
  if (sft.nearDuplicates.enabled) steps.push({ name: 'near_duplicate', kind: 'near_duplicates' });
  if (sft.selection !== 'off') steps.push({ name: 'selection', kind: 'selection' });
  return steps;
}

/**
 * Augments the SFT pairs with the text model and filters them (special words, then the judge) in
 * the configured order, drops near duplicates per class and task, and selects the target per
 * class × task × source. Every decision is one verdict per record and stage, so a retried batch
 * decides only what is left. Past `continueAsNewAfterEvents` history events (or when Temporal
 * suggests it) the workflow continues as new with its state, between batches, so its history
 * stays bounded at any dataset size.
 */
export async function sftPipelineWorkflow(args: SftPipelineInput): Promise<StageProgress[]> {
  const { buildId, input, model } = args;
  const { sft } = input;
  const state: SftPipelineState = args.state ?? { step: 0, steps: [], runs: 0 };
  setHandler(stageProgressQuery, () => state.steps);

  const plan = sftSteps(sft);
  let progressed = false;
  const historyFull = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= sft.continueAsNewAfterEvents;
  };
  const carryOn = async (): Promise<never> => {
    state.runs += 1;
    return continueAsNew<typeof sftPipelineWorkflow>({ buildId, input, model, state });
  };

  while (state.step < plan.length) {
    if (progressed && historyFull()) await carryOn();
    const step = plan[state.step]!;
    const progress = state.steps[state.step] ?? newStep(step.name);
    if (state.steps.length === state.step) state.steps.push(progress);
    const done = (counts: BatchCounts) => {
      progress.counts = addCounts(progress.counts, counts);
      progress.batchesDone += 1;
      progressed = true;
    };
    const stop = () => historyFull();

    if (step.kind === 'augment' || step.kind === 'filter') {
      if (!state.ranges) {
        state.ranges = await planBatches({
          buildId,
          kind: 'records',
          set: 'sft',
          batchSize: sft.batchSize,
          origin: step.origin,
        });
        progress.batchesTotal = state.ranges.length;
      }
      const run = step.kind === 'augment' ? augmentRecords : filterRecords;
      const batch = (range: SeqRange) => run({ buildId, range, sft, model } satisfies SftBatchInput);
      state.ranges = await runInBatches(state.ranges, sft.parallelBatches, batch, done, stop);
      if (state.ranges.length) await carryOn();
      state.ranges = undefined;
    } else if (step.kind === 'near_duplicates') {
      if (!state.buckets) {
        state.buckets = await planNearDuplicateBuckets({ buildId });
        progress.batchesTotal = state.buckets.length;
      }
      const bucket = (b: NearDuplicateBucket) =>
        dropNearDuplicates({ buildId, bucket: b, nearDuplicates: sft.nearDuplicates });
      state.buckets = await runInBatches(state.buckets, 2, bucket, done, stop);
      if (state.buckets.length) await carryOn();
      state.buckets = undefined;
    } else if (sft.selection !== 'off') {
      progress.batchesTotal = 1;
      const out = await selectSftRecords({ buildId, target: sft.target, mode: sft.selection });
      const { report, ...counts } = out;
      done(counts);
      progress.selection = report;
    }
    progress.state = 'done';
    state.step += 1;
  }
  return state.steps;
}

const newStep = (stage: string): StageProgress => ({
  stage,
  state: 'running',
  batchesDone: 0,
  batchesTotal: 0,
  counts: emptyCounts(),
});
