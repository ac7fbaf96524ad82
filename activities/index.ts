/**
 * Activity factories, one per task queue. The worker builds the clients once (database, model
 * endpoints, CLIP session) and wires them in; activities never build their own.
 */
import type { PromptSet, SpecialWords, Taxonomy } from '../config/assets';
import type { FasforgeEnv } from '../config/env';
import type { Db } from '../db/client';
import { createCheckClipModel } from './clip/check-model';
import { createScoreRecords } from './clip/score-records';
import { clipScoreStats } from './clip/score-stats';
import { createApplyClipThreshold } from './clip/threshold';
import type { ClipScorer } from './clip/scorer';
import type { ClipActivities, LlmActivities, PipelineActivities } from './contracts';
import { readFunnel } from './database/funnel';
import { dropNearDuplicates, planNearDuplicateBuckets } from './database/near-duplicates';
import { planBatches } from './database/plan';
import { describeReview, dropUnreviewed, listReviewItems, recordReviewDecisions } from './database/review';
import { selectPretrainRecords, selectSftRecords } from './database/selection';
import { exportBuild } from './files/export';
import { ingestSources } from './files/ingest';
import { prepareBuild } from './files/prepare';
import type { ModelGateway } from './model-api/gateway';
import { createGenerateRecords } from './model-api/generate';
import { setBuildBudget } from './model-api/usage';
import { createAugmentRecords, createFilterRecords } from './model-api/sft';

export interface Assets {
  taxonomy: Taxonomy;
  prompts: PromptSet;
  specialWords: SpecialWords;
}

export function createPipelineActivities(db: Db, env: FasforgeEnv, assets: Assets): PipelineActivities {
  return {
    prepareBuild: (input) => prepareBuild(db, env, input),
    ingestSources: (input) => ingestSources(db, assets.taxonomy, input, { home: env.home }),
    planBatches: (input) => planBatches(db, input),
    planNearDuplicateBuckets: (input) => planNearDuplicateBuckets(db, input),
    dropNearDuplicates: (input) => dropNearDuplicates(db, input),
    selectSftRecords: (input) => selectSftRecords(db, input),
    selectPretrainRecords: (input) => selectPretrainRecords(db, input),
    readFunnel: (input) => readFunnel(db, input.buildId),
    describeReview: (input) => describeReview(db, input.buildId),
    listReviewItems: (input) => listReviewItems(db, input),
    recordReviewDecisions: (input) => recordReviewDecisions(db, input),
    dropUnreviewed: (input) => dropUnreviewed(db, input.buildId),
    exportBuild: (input) => exportBuild(db, assets, input),
    setBuildBudget: (input) => setBuildBudget(db, input),
  };
}

export function createLlmActivities(db: Db, gateway: ModelGateway, assets: Assets): LlmActivities {
  const deps = { db, gateway, ...assets };
  return {
    generateRecords: createGenerateRecords(deps),
    augmentRecords: createAugmentRecords(deps),
    filterRecords: createFilterRecords(deps),
  };
}

export function createClipActivities(db: Db, scorer: () => Promise<ClipScorer>): ClipActivities {
  return {
    checkClipModel: createCheckClipModel(scorer),
    scoreRecords: createScoreRecords(db, scorer),
    applyClipThreshold: createApplyClipThreshold(db),
    describeClipScores: ({ buildId }) => clipScoreStats(db, buildId),
  };
}

export type * from './contracts';
