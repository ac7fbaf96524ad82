/**
 * Activity factories, one per task queue. The worker builds the clients once (database, model
 * endpoints, CLIP session) and wires them in; activities never build their own.
 */
import type { PromptSet, SpecialWords, Taxonomy } from '../config/assets';
import type { FasforgeEnv } from '../config/env';
import type { Db } from '../db/client';
import { createScoreRecords } from './clip/score-records';
import type { ClipScorer } from './clip/scorer';
import type { ClipActivities, LlmActivities, PipelineActivities } from './contracts';
import { planBatches } from './database/plan';
import { describeReview } from './database/review';
import { exportBuild } from './files/export';
import { ingestSources } from './files/ingest';
import { prepareBuild } from './files/prepare';
import type { ModelGateway } from './model-api/gateway';
import { createGenerateRecords } from './model-api/generate';
import { createAugmentRecords, createFilterRecords } from './model-api/sft';

export interface Assets {
  taxonomy: Taxonomy;
  prompts: PromptSet;
  specialWords: SpecialWords;
}

export function createPipelineActivities(db: Db, env: FasforgeEnv, assets: Assets): PipelineActivities {
  return {
    prepareBuild: (input) => prepareBuild(db, env, input),
    ingestSources: (input) => ingestSources(db, assets.taxonomy, input),
    planBatches: (input) => planBatches(db, input),
    describeReview: (input) => describeReview(db, input.buildId),
    exportBuild: (input) => exportBuild(db, assets, input),
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
  return { scoreRecords: createScoreRecords(db, scorer) };
}

export type * from './contracts';
