import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { ClipActivities, PipelineActivities, ResolvedBuildInput, ScoreOutput } from '../activities/contracts';
import { addCounts, emptyCounts, runInBatches } from './batches';
import { TASK_QUEUES } from './constants';
import { stageProgressQuery, type StageProgress } from './messages';

const { planBatches } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '2 minutes',
});
const { scoreRecords } = proxyActivities<ClipActivities>({
  taskQueue: TASK_QUEUES.clip,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export interface ClipFilterInput {
  buildId: string;
  input: ResolvedBuildInput;
}

export interface ClipFilterOutput extends StageProgress {
  model?: { modelId: string; standIn: boolean; provider: string };
}

/**
 * Scores every pretrain description against its image with CLIP and keeps those at or above the
 * threshold. Scores are written once per record, so a retried batch only scores what is left.
 */
export async function clipFilterWorkflow({ buildId, input }: ClipFilterInput): Promise<ClipFilterOutput> {
  const progress: ClipFilterOutput = {
    stage: 'clip_filter',
    state: 'running',
    batchesDone: 0,
    batchesTotal: 0,
    counts: emptyCounts(),
  };
  setHandler(stageProgressQuery, () => [progress]);

  const ranges = await planBatches({ buildId, kind: 'records', set: 'pretrain', batchSize: input.clip.recordsPerActivity });
  progress.batchesTotal = ranges.length;
  await runInBatches(
    ranges,
    2,
    (range) => scoreRecords({ buildId, range, clip: input.clip }),
    (out: ScoreOutput) => {
      progress.counts = addCounts(progress.counts, out);
      progress.model = { modelId: out.modelId, standIn: out.standIn, provider: out.provider };
      progress.batchesDone += 1;
    },
  );

  progress.state = 'done';
  return progress;
}
