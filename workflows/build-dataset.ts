import {
  condition,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildInput, ExportInput, ExportOutput, PipelineActivities } from '../activities/contracts';
import { emptyCounts } from './batches';
import { clipFilterWorkflow } from './clip-filter';
import { TASK_QUEUES } from './constants';
import { generateRecordsWorkflow } from './generate-records';
import {
  approveReviewSignal,
  progressQuery,
  reviewProgressQuery,
  type ApproveReview,
  type ReviewProgress,
  type StageProgress,
} from './messages';
import { stageAttribute } from './search-attributes';
import { sftPipelineWorkflow } from './sft-pipeline';

const pipeline = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * Builds one FaceShield-style dataset: ingest → generate → (CLIP filter ‖ SFT augment and filter)
 * → review gate → export. The workflow id is the build id: starting the same id twice is refused
 * by Temporal, and every row the build writes is keyed by it. Bad input fails the build at the
 * first step with a message naming each bad field.
 */
export async function buildDatasetWorkflow(raw: BuildInput): Promise<ExportOutput> {
  const buildId = workflowInfo().workflowId;
  let stage = 'prepare';
  const stages: StageProgress[] = [];
  const children: string[] = [];
  let approval: ApproveReview | undefined;
  const review: ReviewProgress = { waiting: false, approved: false, pending: 0, bySet: {} };

  setHandler(progressQuery, () => ({ buildId, stage, stages, children: [...children] }));
  setHandler(reviewProgressQuery, () => ({ ...review, reviewer: approval?.reviewer }));
  setHandler(approveReviewSignal, (decision) => {
    if (!review.waiting) {
      log.warn('approveReview ignored: the build is not waiting for review', { buildId, stage });
      return;
    }
    if (typeof decision?.reviewer !== 'string' || decision.reviewer.trim() === '') {
      log.warn('approveReview ignored: it needs a non-empty reviewer', { buildId });
      return;
    }
    approval = { reviewer: decision.reviewer, note: typeof decision.note === 'string' ? decision.note : undefined };
  });
  const enter = (next: string) => {
    stage = next;
    upsertSearchAttributes([{ key: stageAttribute, value: next }]);
    log.info('build stage', { buildId, stage: next });
  };

  enter('prepare');
  const prepared = await pipeline.prepareBuild({ buildId, raw });
  const { input } = prepared;

  enter('ingest');
  const ingest = await pipeline.ingestSources({ buildId, input });
  stages.push({ stage: 'ingest', state: 'done', batchesDone: 1, batchesTotal: 1, counts: ingest });

  enter('generate');
  children.push(`${buildId}:generate`);
  stages.push(
    await executeChild(generateRecordsWorkflow, {
      workflowId: `${buildId}:generate`,
      args: [{ buildId, input, model: prepared.models.vision }],
    }),
  );

  enter('filter');
  children.push(`${buildId}:clip-filter`, `${buildId}:sft`);
  const [clip, sft] = await Promise.all([
    executeChild(clipFilterWorkflow, { workflowId: `${buildId}:clip-filter`, args: [{ buildId, input }] }),
    executeChild(sftPipelineWorkflow, {
      workflowId: `${buildId}:sft`,
      args: [{ buildId, input, model: prepared.models.text }],
    }),
  ]);
  stages.push(clip, ...sft);
  children.length = 0;

  let reviewOutcome: ExportInput['review'] = { skipped: true };
  if (input.review.required) {
    enter('review');
    Object.assign(review, await pipeline.describeReview({ buildId }), { waiting: true });
    const gate: StageProgress = {
      stage: 'review',
      state: 'waiting',
      batchesDone: 0,
      batchesTotal: 1,
      counts: { ...emptyCounts(), in: review.pending },
    };
    stages.push(gate);
    await condition(() => approval !== undefined);
    Object.assign(review, { waiting: false, approved: true });
    Object.assign(gate, { state: 'done', batchesDone: 1, counts: { ...gate.counts, kept: review.pending } });
    reviewOutcome = { reviewer: approval!.reviewer, note: approval!.note, approvedAt: new Date().toISOString() };
  }

  enter('export');
  const out = await pipeline.exportBuild({ buildId, prepared, clipModel: clip.model, review: reviewOutcome });
  enter('done');
  return out;
}
