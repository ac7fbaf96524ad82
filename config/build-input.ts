/**
 * The build input: plain JSON given to the build workflow, by `fasforge build start` or by
 * `temporal workflow start --input-file`. Parsing applies every default, so the resolved input
 * recorded in the workflow's history says exactly how the build ran. It never holds a secret.
 */
import { z } from 'zod';

export const TASKS = ['pretrain', 'coarse', 'fine', 'reasoning', 'localization'] as const;
export type Task = (typeof TASKS)[number];

const sourceSchema = z
  .object({
    name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "-" or "." only'),
    adapter: z.enum(['siw-mv2']),
    root: z.string().min(1),
    spoofRegions: z.string().min(1).optional(),
    licence: z.string().min(1).default('see the source dataset licence'),
  })
  .strict();

const generationSchema = z
  .object({
    model: z.string().min(1).optional(),
    requestStyle: z.enum(['chat', 'completion']).default('chat'),
    responseFormat: z.enum(['json', 'text']).default('json'),
    temperature: z.number().min(0).max(2).default(0.2),
    maxTokens: z.number().int().positive().max(8192).default(512),
    batchSize: z.number().int().positive().max(500).default(20),
    parallelBatches: z.number().int().positive().max(64).default(4),
    concurrency: z.number().int().positive().max(64).default(4),
    repair: z.boolean().default(true),
  })
  .strict();

const clipSchema = z
  .object({
    threshold: z.number().min(-1).max(1).default(0.15),
    batchSize: z.number().int().positive().max(1024).default(16),
    recordsPerActivity: z.number().int().positive().max(5000).default(200),
  })
  .strict();

const sftSchema = z
  .object({
    model: z.string().min(1).optional(),
    order: z.enum(['augment-then-filter', 'filter-augment-filter']).default('augment-then-filter'),
    augment: z.boolean().default(true),
    judge: z.boolean().default(true),
    judgeSeesLabel: z.boolean().default(false),
    specialWords: z.boolean().default(true),
    batchSize: z.number().int().positive().max(500).default(25),
    parallelBatches: z.number().int().positive().max(64).default(4),
    concurrency: z.number().int().positive().max(64).default(4),
  })
  .strict();

export const buildInputSchema = z
  .object({
    name: z.string().min(1).default('fasforge build'),
    sources: z.array(sourceSchema).min(1, 'name at least one source dataset'),
    tasks: z.array(z.enum(TASKS)).min(1).default([...TASKS]),
    maxImages: z.number().int().positive().optional(),
    generation: generationSchema.default(generationSchema.parse({})),
    clip: clipSchema.default(clipSchema.parse({})),
    sft: sftSchema.default(sftSchema.parse({})),
    review: z.object({ required: z.boolean().default(true) }).strict().default({ required: true }),
    export: z.object({ dir: z.string().min(1).optional() }).strict().default({}),
  })
  .strict();

export type BuildInput = z.input<typeof buildInputSchema>;
export type ResolvedBuildInput = z.output<typeof buildInputSchema>;

/** Parses a build input; the error lists every bad field by its path. */
export function parseBuildInput(raw: unknown): ResolvedBuildInput {
  const result = buildInputSchema.safeParse(raw);
  if (!result.success) throw new BuildInputError(formatIssues(result.error.issues));
  return result.data;
}

export class BuildInputError extends Error {
  override name = 'BuildInputError';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
