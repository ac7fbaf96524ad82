import { proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  BatchCounts,
  LlmActivities,
  PipelineActivities,
  PlanInput,
  ResolvedBuildInput,
  SftBatchInput,
} from '../activities/contracts';
import { addCounts, emptyCounts, runInBatches } from './batches';
import { TASK_QUEUES } from './constants';
import { stageProgressQuery, type StageProgress } from './messages';

const { planBatches } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '2 minutes',
});
const { augmentRecords, filterRecords } = proxyActivities<LlmActivities>({
  taskQueue: TASK_QUEUES.llm,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '3 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
});

export interface SftPipelineInput {
  buildId: string;
  input: ResolvedBuildInput;
  model: string;
}

/**
 * Augments the SFT pairs with the text model and filters them with the special-words filter and
 * the model judge, in the configured order. Each record is judged at most once per filter, so a
 * retried batch filters only what is left.
 */
export async function sftPipelineWorkflow({ buildId, input, model }: SftPipelineInput): Promise<StageProgress[]> {
  const { sft } = input;
  const steps: StageProgress[] = [];
  setHandler(stageProgressQuery, () => steps);

  const step = async (
    stage: string,
    plan: Omit<PlanInput, 'buildId' | 'batchSize' | 'set'>,
    run: (b: SftBatchInput) => Promise<BatchCounts>,
  ): Promise<void> => {
    const progress: StageProgress = { stage, state: 'running', batchesDone: 0, batchesTotal: 0, counts: emptyCounts() };
    steps.push(progress);
    const ranges = await planBatches({ buildId, set: 'sft', batchSize: sft.batchSize, ...plan });
    progress.batchesTotal = ranges.length;
    await runInBatches(
      ranges,
      sft.parallelBatches,
      (range) => run({ buildId, range, sft, model }),
      (counts) => {
        progress.counts = addCounts(progress.counts, counts);
        progress.batchesDone += 1;
      },
    );
    progress.state = 'done';
  };

  const filter = sft.judge || sft.specialWords;
  if (sft.order === 'filter-augment-filter' && filter) await step('sft_filter', { kind: 'records', origin: 'generated' }, filterRecords);
  if (sft.augment) await step('augment', { kind: 'records', origin: 'generated' }, augmentRecords);
  if (filter) await step('sft_filter', { kind: 'records' }, filterRecords);
  return steps;
}
