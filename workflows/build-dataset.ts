import {
  allHandlersFinished,
  condition,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildInput, ClipActivities, ExportInput, ExportOutput, FunnelStage, PipelineActivities } from '../activities/contracts';
import { emptyCounts } from './batches';
import { BudgetGate } from './budget';
import { clipFilterWorkflow } from './clip-filter';
import { TASK_QUEUES } from './constants';
import { generateRecordsWorkflow } from './generate-records';
import { progressQuery, type StageProgress } from './messages';
import { ReviewGate } from './review-gate';
import { buildIdAttribute, datasetVersionAttribute, stageAttribute } from './search-attributes';
import { sftPipelineWorkflow } from './sft-pipeline';

const pipeline = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const clipCheck = proxyActivities<ClipActivities>({
  taskQueue: TASK_QUEUES.clip,
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
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

  let funnel: FunnelStage[] | undefined;
  let funnelAt: string | undefined;
  setHandler(progressQuery, () => ({ buildId, stage, stages, children: [...children], funnel, funnelAt }));
  const refreshFunnel = async () => {
    try {
      funnel = await pipeline.readFunnel({ buildId });
      funnelAt = new Date().toISOString();
    } catch (err) {
      log.warn('funnel not refreshed', { buildId, error: String(err) });
    }
  };
  const gate = new ReviewGate(buildId);
  const enter = (next: string) => {
    stage = next;
    upsertSearchAttributes([{ key: stageAttribute, value: next }]);
    log.info('build stage', { buildId, stage: next });
  };
  const budget = new BudgetGate({ buildId, enter, stage: () => stage, stages });

  // Child workflows carry the build id and their stage, so the web UI lists a build's parts together.
  const child = (childStage: string, staticSummary: string) => ({
    staticSummary,
    typedSearchAttributes: [
      { key: buildIdAttribute, value: buildId },
      { key: stageAttribute, value: childStage },
    ],
  });
  upsertSearchAttributes([{ key: buildIdAttribute, value: buildId }]);

  enter('prepare');
  const prepared = await pipeline.prepareBuild.executeWithOptions({ summary: 'prepare: check sources, models and export folder' }, [
    { buildId, raw },
  ]);
  const { input } = prepared;
  // The CLIP worker loads its model now: missing model files fail the build before any work.
  if (input.tasks.includes('pretrain')) {
    await clipCheck.checkClipModel.executeWithOptions({ summary: 'prepare: load the CLIP model' }, [{ buildId }]);
  }

  enter('ingest');
  const ingest = await pipeline.ingestSources.executeWithOptions({ summary: 'ingest: read, label and dedupe source images' }, [
    { buildId, input },
  ]);
  stages.push({ stage: 'ingest', state: 'done', batchesDone: 1, batchesTotal: 1, counts: ingest });
  await refreshFunnel();

  enter('generate');
  children.push(`${buildId}:generate`);
  stages.push(
    await whileRunning(
      budget.guard(() =>
        executeChild(generateRecordsWorkflow, {
          workflowId: `${buildId}:generate`,
          args: [{ buildId, input, model: prepared.models.vision }],
          ...child('generate', 'generate: question–answer records for five tasks with the vision model'),
        }),
      ),
      refreshFunnel,
    ),
  );

  enter('filter');
  children.push(`${buildId}:clip-filter`, `${buildId}:sft`);
  const filtering = Promise.all([
    executeChild(clipFilterWorkflow, {
      workflowId: `${buildId}:clip-filter`,
      args: [{ buildId, input }],
      ...child('clip_filter', 'clip filter: score pre-training descriptions against their images'),
    }),
    budget.guard(() =>
      executeChild(sftPipelineWorkflow, {
        workflowId: `${buildId}:sft`,
        args: [{ buildId, input, model: prepared.models.text }],
        ...child('sft', 'sft: augment and filter the SFT pairs with the text model'),
      }),
    ),
  ]);
  const [clip, sft] = await whileRunning(filtering, refreshFunnel);
  stages.push(clip, ...sft);
  children.length = 0;
  await refreshFunnel();

  let reviewOutcome: ExportInput['review'] = { skipped: true };
  if (input.review.required) {
    enter('review');
    const reviewStage: StageProgress = { stage: 'review', state: 'waiting', batchesDone: 0, batchesTotal: 1, counts: emptyCounts() };
    stages.push(reviewStage);
    reviewOutcome = await gate.run(input.review, reviewStage);
  }

  enter('export');
  const out = await pipeline.exportBuild.executeWithOptions({ summary: 'export: write LLaVA files, lineage and summary' }, [
    { buildId, prepared, clipModel: clip.model, review: reviewOutcome },
  ]);
  funnel = out.funnel;
  if (out.datasetVersion) upsertSearchAttributes([{ key: datasetVersionAttribute, value: out.datasetVersion }]);
  enter('done');
  // A review update that arrived as the gate opened finishes before the build completes.
  await condition(allHandlersFinished);
  return out;
}

/**
 * Awaits `work`, calling `tick` while it runs: after 15 s, then at doubling intervals up to 5
 * minutes, so a long stage adds a bounded number of events to the build's history.
 */
async function whileRunning<T>(work: Promise<T>, tick: () => Promise<void>): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let wait = 15; !(await condition(() => settled, `${wait} seconds`)); wait = Math.min(300, wait * 2)) await tick();
  return work;
}
