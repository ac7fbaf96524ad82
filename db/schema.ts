/**
 * The database schema: one place for every table fasforge keeps. A build's catalogue (`images`),
 * its generated and augmented records (`records`), every stage's verdict on a record (`verdicts`),
 * the content-addressed model response cache (`modelCache`) and the per-build call ledger
 * (`modelCalls`). Every write path is keyed so that a retried activity upserts instead of duplicating.
 */
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const builds = pgTable('builds', {
  id: text('id').primaryKey(),
  config: jsonb('config').notNull(),
  stage: text('stage').notNull().default('started'),
  /** The spending cap in force (USD), once a `raiseBudget` signal replaced the build input's. */
  budgetUsd: doublePrecision('budget_usd'),
  /** What the build's priced model calls have cost so far (USD); cache hits cost nothing. */
  spentUsd: doublePrecision('spent_usd').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const images = pgTable(
  'images',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    buildId: text('build_id').notNull(),
    source: text('source').notNull(),
    adapter: text('adapter').notNull(),
    relPath: text('rel_path').notNull(),
    absPath: text('abs_path').notNull(),
    contentHash: text('content_hash'),
    nativeLabel: text('native_label').notNull(),
    className: text('class_name'),
    subject: text('subject'),
    licence: text('licence'),
    width: integer('width'),
    height: integer('height'),
    spoofBox: jsonb('spoof_box').$type<[number, number, number, number]>(),
    split: text('split'),
    status: text('status').notNull(),
    reason: text('reason'),
    detail: text('detail'),
    /** The video (or frame folder) a frame came from, within its source. */
    videoId: text('video_id'),
    /** The native code's human name from the taxonomy, e.g. "funny-eye glasses". */
    nativeName: text('native_name'),
    /** Capture metadata and free-text descriptions the source carries, as the adapter read them. */
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    /** Face box, absolute corners [x1, y1, x2, y2] in this image's pixels. */
    faceBox: jsonb('face_box').$type<[number, number, number, number]>(),
    /** 64-bit perceptual hash as a string of 0s and 1s. */
    phash: text('phash'),
    /** For a duplicate or near-duplicate: `<source>/<rel_path>` of the image kept instead. */
    duplicateOf: text('duplicate_of'),
  },
  (t) => [
    uniqueIndex('images_build_path').on(t.buildId, t.source, t.relPath),
    index('images_build_status').on(t.buildId, t.status),
  ],
);

export const records = pgTable(
  'records',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull(),
    buildId: text('build_id').notNull(),
    imageSeq: integer('image_seq').notNull(),
    set: text('set').notNull(),
    task: text('task').notNull(),
    origin: text('origin').notNull(),
    parentId: text('parent_id'),
    question: text('question'),
    answer: text('answer'),
    box: jsonb('box').$type<[number, number, number, number]>(),
    model: text('model'),
    promptVersion: text('prompt_version'),
    clipScore: doublePrecision('clip_score'),
    status: text('status').notNull(),
    stage: text('stage').notNull(),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('records_id').on(t.id),
    index('records_build_set_status').on(t.buildId, t.set, t.status),
  ],
);

export const verdicts = pgTable(
  'verdicts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    buildId: text('build_id').notNull(),
    recordId: text('record_id').notNull(),
    stage: text('stage').notNull(),
    verdict: text('verdict').$type<'kept' | 'dropped' | 'failed'>().notNull(),
    reason: text('reason'),
    detail: jsonb('detail'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('verdicts_record_stage').on(t.recordId, t.stage), index('verdicts_build').on(t.buildId, t.stage)],
);

export const modelCache = pgTable('model_cache', {
  key: text('key').primaryKey(),
  model: text('model').notNull(),
  servedModel: text('served_model'),
  content: text('content').notNull(),
  promptTokens: integer('prompt_tokens').notNull().default(0),
  completionTokens: integer('completion_tokens').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const modelCalls = pgTable(
  'model_calls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    buildId: text('build_id').notNull(),
    cacheKey: text('cache_key').notNull(),
    role: text('role').notNull(),
    model: text('model').notNull(),
    cacheHit: boolean('cache_hit').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    /** The pipeline stage that asked: `generate`, `augment`, `judge`, … */
    stage: text('stage'),
    /** USD from the price table; null when the model has no price (unknown, not free). */
    costUsd: doublePrecision('cost_usd'),
    /** Wall time of the HTTP call; 0 for a cache hit. */
    latencyMs: integer('latency_ms'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [uniqueIndex('model_calls_build_key').on(t.buildId, t.cacheKey)],
);

/**
 * Human review decisions, one per record: who decided what, when, and for a revision the text
 * before and after with its diff. The unique record id makes a retried write a no-op.
 */
export const reviewDecisions = pgTable(
  'review_decisions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    buildId: text('build_id').notNull(),
    recordId: text('record_id').notNull(),
    decision: text('decision').$type<'approve' | 'reject' | 'revise'>().notNull(),
    reviewer: text('reviewer').notNull(),
    reason: text('reason'),
    beforeQuestion: text('before_question'),
    beforeAnswer: text('before_answer'),
    afterQuestion: text('after_question'),
    afterAnswer: text('after_answer'),
    diff: jsonb('diff'),
    decidedAt: timestamp('decided_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('review_decisions_record').on(t.recordId), index('review_decisions_build').on(t.buildId)],
);

/**
 * What a build's export was made from, written when the build exports: the export input (models,
 * CLIP model, review outcome, options) and asset versions, so `fasforge export` can write it again
 * from the database alone. `versionId` is the dataset version id of the last export.
 */
export const buildExports = pgTable('build_exports', {
  buildId: text('build_id').primaryKey(),
  input: jsonb('input').notNull(),
  versions: jsonb('versions').$type<{ taxonomy: string; prompts: string }>().notNull(),
  versionId: text('version_id'),
  exportedAt: timestamp('exported_at', { withTimezone: true }).notNull().defaultNow(),
});
