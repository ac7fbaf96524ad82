import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { GenerateInput, LlmActivities, PipelineActivities, ResolvedBuildInput } from '../activities/contracts';
import { TASK_QUEUES } from './constants';
import { addCounts, emptyCounts, runInBatches } from './batches';
import { stageProgressQuery, type StageProgress } from './messages';

const { planBatches } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '2 minutes',
});
const { generateRecords } = proxyActivities<LlmActivities>({
  taskQueue: TASK_QUEUES.llm,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '3 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
});

export interface GenerateRecordsInput {
  buildId: string;
  input: ResolvedBuildInput;
  model: string;
}

/**
 * Generates every task's question–answer record for every ingested image, in batches of images.
 * Each record id is derived from build, image and task, so a retried batch writes nothing twice.
 */
export async function generateRecordsWorkflow({ buildId, input, model }: GenerateRecordsInput): Promise<StageProgress> {
  const progress: StageProgress = {
    stage: 'generate',
    state: 'running',
    batchesDone: 0,
    batchesTotal: 0,
    counts: emptyCounts(),
  };
  setHandler(stageProgressQuery, () => [progress]);

  const ranges = await planBatches({ buildId, kind: 'images', batchSize: input.generation.batchSize });
  progress.batchesTotal = ranges.length;
  const sourcesWithoutRegions = input.sources.filter((s) => !s.spoofRegions).map((s) => s.name);
  const base: Omit<GenerateInput, 'range'> = {
    buildId,
    tasks: input.tasks,
    generation: input.generation,
    model,
    sourcesWithoutRegions,
  };
  await runInBatches(
    ranges,
    input.generation.parallelBatches,
    (range) =>
      generateRecords.executeWithOptions({ summary: `generate: ${range.count} images (seq ${range.from}–${range.to})` }, [
        { ...base, range },
      ]),
    (counts) => {
      progress.counts = addCounts(progress.counts, counts);
      progress.batchesDone += 1;
    },
  );

  progress.state = 'done';
  return progress;
}
