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
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [uniqueIndex('model_calls_build_key').on(t.buildId, t.cacheKey)],
);
