/**
 * The build input: plain JSON given to the build workflow, by `fasforge build start` or by
 * `temporal workflow start --input-file`. Parsing applies every default, so the resolved input
 * recorded in the workflow's history says exactly how the build ran. It never holds a secret.
 */
import { z } from 'zod';

export const TASKS = ['pretrain', 'coarse', 'fine', 'reasoning', 'localization'] as const;
export type Task = (typeof TASKS)[number];

export const SOURCE_ADAPTERS = ['siw-mv2', 'wmca', 'padisi', 'celeba-spoof', 'oulu-npu', 'manifest'] as const;
export type SourceAdapter = (typeof SOURCE_ADAPTERS)[number];

const sourceSchema = z
  .object({
    name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "-" or "." only'),
    adapter: z.enum(SOURCE_ADAPTERS),
    /** The dataset folder; for `manifest`, the CSV or JSONL manifest file. */
    root: z.string().min(1),
    /** COCO JSON, Pascal VOC XML (file or folder) or LabelMe JSON (file or folder) of spoof regions. */
    spoofRegions: z.string().min(1).optional(),
    licence: z.string().min(1).default('see the source dataset licence'),
    /** Frames kept per video (or per pre-extracted frame folder), evenly spaced. */
    frameBudget: z.number().int().positive().max(10_000).default(8),
    /** Images with more pixels are refused before decoding (decompression bombs). */
    maxPixels: z.number().int().positive().default(50_000_000),
    /** Images whose shorter side is below this are refused. */
    minSide: z.number().int().positive().default(64),
    /** Perceptual-hash distance (of 64 bits) at or below which two images of one class are near-duplicates; -1 turns it off. */
    nearDuplicateDistance: z.number().int().min(-1).max(32).default(4),
    /** `subject`: hash of the subject id, 80/10/10; `protocol`: the source's own protocol lists. */
    split: z.enum(['subject', 'protocol']).default('subject'),
    /** The protocol for `split: "protocol"`, e.g. `grandtest`, `LOO_Fakehead`, `Protocol_1`, `Protocol_3/1`, `part0`. */
    protocol: z.string().min(1).optional(),
    /** Manifest only: the folder its paths are relative to and must stay inside (default: the manifest's folder). */
    manifestRoot: z.string().min(1).optional(),
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
    /** A localization answer's box must overlap the ground-truth box at least this much (IoU). */
    minBoxIou: z.number().min(0).max(1).default(0.5),
    /** An answer that disagrees with its label is `drop`ped with the reason, or `reask`ed once first. */
    inconsistent: z.enum(['drop', 'reask']).default('drop'),
  })
  .strict();

/**
 * The CLIP filter of pretrain descriptions. `absolute` keeps a description whose image–text
 * cosine reaches `threshold` (0.15, as in the FaceShield paper), or its class's entry in
 * `classThresholds`. `top-fraction` scores everything first, then keeps the best `keepFraction`
 * (default 0.3, as DataComp does) of all descriptions, or of each class with `perClass`.
 */
const clipSchema = z
  .object({
    mode: z.enum(['absolute', 'top-fraction']).default('absolute'),
    threshold: z.number().min(-1).max(1).default(0.15),
    classThresholds: z.record(z.string().min(1), z.number().min(-1).max(1)).optional(),
    keepFraction: z.number().gt(0).max(1).optional(),
    perClass: z.boolean().default(false),
    batchSize: z.number().int().positive().max(1024).default(16),
    recordsPerActivity: z.number().int().positive().max(5000).default(200),
    /** Pretrain descriptions to keep after the filter, drawn per class × source stratum (the paper's ~10K). */
    target: z.number().int().positive().default(10_000),
    selection: z.enum(['balanced', 'proportional', 'off']).default('balanced'),
  })
  .strict()
  .refine((c) => c.mode === 'top-fraction' || (c.keepFraction === undefined && !c.perClass), {
    path: ['mode'],
    message: 'keepFraction and perClass need mode "top-fraction"',
  })
  .refine((c) => c.mode === 'absolute' || c.classThresholds === undefined, {
    path: ['classThresholds'],
    message: 'classThresholds need mode "absolute"',
  })
  .transform((c) => (c.mode === 'top-fraction' ? { ...c, keepFraction: c.keepFraction ?? 0.3 } : c));

/**
 * Near-duplicate SFT pairs within one class and task (and, for localization, one box): a pair
 * whose normalised text is at least `threshold` similar (1 − Levenshtein distance / longer
 * length) to a pair kept before it is dropped, naming the kept one. `compare` picks the text:
 * the answer, question and answer together, or either of the two on its own. `scope: "image"`
 * compares the pairs about one image (a pair and its paraphrases); `"class-task"` compares
 * across all images of the class, which also drops the same wording given for another image.
 */
const nearDuplicatesSchema = z
  .object({
    enabled: z.boolean().default(true),
    threshold: z.number().min(0.7).max(1).default(0.9),
    compare: z.enum(['answer', 'pair', 'question-or-answer']).default('answer'),
    scope: z.enum(['image', 'class-task']).default('image'),
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
    nearDuplicates: nearDuplicatesSchema.default(nearDuplicatesSchema.parse({})),
    /** SFT pairs to keep after filtering; the stratified selection reports any shortfall per stratum. */
    target: z.number().int().positive().default(45_000),
    /**
     * How the target is shared among class × task × source strata: `balanced` gives each stratum
     * an equal share (small strata's unused share goes to the others), `proportional` keeps each
     * stratum's share of the pool, `off` keeps every pair that survived the filters.
     */
    selection: z.enum(['balanced', 'proportional', 'off']).default('balanced'),
    /** History events after which the SFT child workflow continues as new, carrying its state. */
    continueAsNewAfterEvents: z.number().int().min(20).max(40_000).default(4000),
  })
  .strict();

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'write a duration such as "90s", "30m", "12h" or "7d"');

const reviewSchema = z
  .object({
    /** Whether the build waits for a person's `approveReview` before export. */
    required: z.boolean().default(true),
    /**
     * Acceptance sampling: reviewers see only `perClass` records of each class, picked by `seed`;
     * approval is refused while the sample's reject rate is above `maxRejectRate`.
     */
    sample: z
      .object({
        perClass: z.number().int().positive(),
        seed: z.string().min(1).default('fasforge-review'),
        maxRejectRate: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .optional(),
    /**
     * `wait` (default) waits for ever and logs a reminder every `remindEvery`; after `after`,
     * `fail` fails the build and `release-approved` exports only reviewed-and-approved records.
     */
    timeout: z
      .object({
        action: z.enum(['wait', 'fail', 'release-approved']).default('wait'),
        after: duration.optional(),
        remindEvery: duration.default('1d'),
      })
      .strict()
      .refine((t) => t.action === 'wait' || t.after !== undefined, {
        message: 'the fail and release-approved actions need "after", the time to wait for reviewers',
        path: ['after'],
      })
      .refine((t) => t.action !== 'wait' || t.after === undefined, {
        message: '"after" applies to the fail and release-approved actions; "wait" waits for ever',
        path: ['after'],
      })
      .default({ action: 'wait', remindEvery: '1d' }),
  })
  .strict();

export const EXPORT_FORMATS = ['llava-json', 'llava-jsonl', 'sharegpt', 'hf-jsonl', 'hf-parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const BOX_FORMATS = ['absolute', 'norm1', 'norm1000'] as const;
export type BoxFormat = (typeof BOX_FORMATS)[number];

export const exportSchema = z
  .object({
    /** The export folder; default `<FASFORGE_HOME>/exports/<build id>`. */
    dir: z.string().min(1).optional(),
    /** Which files to write; every format writes the combined sets, one file per split and one per task. */
    formats: z
      .array(z.enum(EXPORT_FORMATS))
      .min(1)
      .refine((f) => new Set(f).size === f.length, 'list each format once')
      .default([...EXPORT_FORMATS]),
    /** Box notation in answers and box fields: absolute pixel corners (the paper's), or normalised to 0–1 or 0–1000. */
    boxFormat: z.enum(BOX_FORMATS).default('absolute'),
    /** `copy` the images into the export, or `hardlink` them (falls back to a copy across file systems). */
    images: z.enum(['copy', 'hardlink']).default('copy'),
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
    review: reviewSchema.default(reviewSchema.parse({})),
    export: exportSchema.default(exportSchema.parse({})),
    /**
     * Spending cap in US dollars for the build's model calls, priced by `config/prices.json`.
     * When reached the build waits in stage `budget` until a `raiseBudget` signal gives a new cap.
     */
    budget: z.object({ maxUsd: z.number().positive().optional() }).strict().default({}),
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
