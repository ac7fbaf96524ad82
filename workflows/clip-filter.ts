import { proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  ClipActivities,
  ClipScoreStats,
  ClipThresholdReport,
  PipelineActivities,
  ResolvedBuildInput,
  ScoreOutput,
} from '../activities/contracts';
import { addCounts, emptyCounts, runInBatches } from './batches';
import { TASK_QUEUES } from './constants';
import { stageProgressQuery, type StageProgress } from './messages';

const { planBatches } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '2 minutes',
});
const { selectPretrainRecords } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});
const { scoreRecords } = proxyActivities<ClipActivities>({
  taskQueue: TASK_QUEUES.clip,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});
const { applyClipThreshold, describeClipScores } = proxyActivities<ClipActivities>({
  taskQueue: TASK_QUEUES.clip,
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
});

export interface ClipFilterInput {
  buildId: string;
  input: ResolvedBuildInput;
}

export interface ClipFilterOutput extends StageProgress {
  model?: { modelId: string; standIn: boolean; provider: string };
  /** The mode and the score each class needed to be kept. */
  threshold?: ClipThresholdReport;
  /** Per-class distribution of the raw scores, and counts kept, dropped and failed. */
  scores?: ClipScoreStats;
}

/**
 * Scores every pretrain description against its image with CLIP and keeps those at or above the
 * threshold (`absolute`), or the best-scoring fraction once all are scored (`top-fraction`).
 * Scores are written once per record, so a retried batch only scores what is left.
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

  const ranges = await planBatches({
    buildId,
    kind: 'records',
    set: 'pretrain',
    batchSize: input.clip.recordsPerActivity,
  });
  progress.batchesTotal = ranges.length;
  await runInBatches(
    ranges,
    2,
    (range) =>
      scoreRecords.executeWithOptions(
        { summary: `clip filter: ${range.count} descriptions (seq ${range.from}–${range.to})` },
        [{ buildId, range, clip: input.clip }],
      ),
    (out: ScoreOutput) => {
      progress.counts = addCounts(progress.counts, out);
      progress.model = { modelId: out.modelId, standIn: out.standIn, provider: out.provider };
      progress.batchesDone += 1;
    },
  );

  if (input.clip.mode === 'top-fraction') {
    const ranked = await applyClipThreshold({
      buildId,
      clip: input.clip,
      modelId: progress.model?.modelId ?? 'unknown',
    });
    // Scoring counted every record in; the ranking decides which of them are kept.
    progress.counts = addCounts(progress.counts, { ...ranked, in: 0 });
    progress.threshold = ranked.threshold;
  }
  // The pretrain set is drawn to its target per class × source; the funnel's `pretrain_selection`
  // stage accounts for every description left out. The counts above stay the filter's own.
  if (input.clip.selection !== 'off') {
    const selected = await selectPretrainRecords.executeWithOptions(
      { summary: `clip filter: select up to ${input.clip.target} descriptions per class × source` },
      [{ buildId, target: input.clip.target, mode: input.clip.selection }],
    );
    progress.selection = selected.report;
  }
  progress.scores = await describeClipScores({ buildId });
  progress.threshold ??= progress.scores.threshold ?? absoluteThreshold(input.clip);

  progress.state = 'done';
  return progress;
}

/** The threshold an absolute-mode filter applies when no record reached it (nothing was scored). */
function absoluteThreshold(clip: ResolvedBuildInput['clip']): ClipThresholdReport {
  return { mode: 'absolute', threshold: clip.threshold, perClass: false, byClass: { ...clip.classThresholds } };
}
