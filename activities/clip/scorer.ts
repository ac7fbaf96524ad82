/**
 * CLIP image–text scoring: loads a model directory described by `model.json` (two ONNX towers
 * and a BPE vocabulary) and scores image/description pairs by cosine similarity.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';

import * as ort from 'onnxruntime-node';
import { z } from 'zod';

import { CorruptImageError, preprocessImage } from './preprocess';
import { loadSession, type ClipProvider } from './session';
import { ClipTokenizer } from './tokenizer';
import type { ClipLogger } from './types';

/** The command that fetches the real CLIP model. */
export const CLIP_DOWNLOAD_COMMAND = 'npx fasforge models download clip';
/** Default number of pairs per inference batch. */
export const DEFAULT_CLIP_BATCH_SIZE = 16;
/** File name of the manifest inside a model directory. */
export const CLIP_MANIFEST_FILE = 'model.json';

const BYTE_TOKENS = 512;
const MARKER_TOKENS = 2;

const sha256Hex = z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a sha256 hex digest');
const channelTriple = z.tuple([z.number(), z.number(), z.number()]);

/** Schema of `model.json`. */
export const clipManifestSchema = z.object({
  id: z.string().min(1),
  standIn: z.boolean().default(false),
  description: z.string().optional(),
  embedDim: z.number().int().positive(),
  contextLength: z.number().int().min(2).default(77),
  imageSize: z.number().int().positive().default(224),
  mean: channelTriple,
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  vision: z.string().min(1),
  text: z.string().min(1),
  vocab: z.string().min(1),
  /** Token ids the text tower accepts; when given, the vocabulary must produce exactly this many. */
  vocabSize: z.number().int().positive().optional(),
  files: z.record(z.string(), sha256Hex).default({}),
});

/** Parsed `model.json`. */
export type ClipManifest = z.infer<typeof clipManifestSchema>;

/** A model file (or the manifest) is missing: the model has not been downloaded. */
export class ClipModelMissingError extends Error {
  override readonly name = 'ClipModelMissingError';

  constructor(
    /** Absolute path of the missing file. */
    readonly file: string,
    modelDir: string,
  ) {
    super(
      `CLIP model file is missing: ${file} (model directory ${modelDir}). Run \`${CLIP_DOWNLOAD_COMMAND}\` to fetch it.`,
    );
  }
}

/** The manifest or a model file is malformed, or a checksum does not match. */
export class ClipModelInvalidError extends Error {
  override readonly name = 'ClipModelInvalidError';
}

/** Options for {@link loadClipModel}. */
export interface LoadClipModelOptions {
  /** Receives load information, the stand-in notice and the CPU-fallback warning. */
  logger: ClipLogger;
  /** Try the CUDA execution provider first (default true). */
  preferGpu?: boolean;
  /** Check every file listed in `files` against its sha256 (default false). */
  verifyChecksums?: boolean;
  /** Extra ONNX Runtime session options, e.g. `intraOpNumThreads`. */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/** One image/description pair to score. */
export interface ClipScoreItem {
  imagePath: string;
  text: string;
}

/** The result for one pair: a cosine similarity, or why the image could not be scored. */
export type ClipScore = { score: number } | { error: string; code: 'corrupt_image' };

/** The scores of one inference batch, as {@link ClipScorer.scoreBatches} yields them. */
export interface ClipScoredBatch {
  /** Index (into the request) of each pair in the batch. */
  indices: number[];
  /** The result for each pair, in the order of `indices`. */
  scores: ClipScore[];
}

/** A loaded CLIP model. */
export interface ClipScorer {
  /** `id` from model.json. */
  readonly modelId: string;
  /** True for a model with random weights (a stand-in), whose scores mean nothing. */
  readonly standIn: boolean;
  /** Execution provider the towers run on. */
  readonly provider: ClipProvider;
  /** The parsed model.json. */
  readonly manifest: ClipManifest;
  /** Absolute path of the model directory. */
  readonly modelDir: string;
  /**
   * Scores pairs by the cosine of the L2-normalised image and text embeddings, in input order.
   * A corrupt image yields an error entry for that pair only.
   *
   * @param batchSize pairs per inference batch (default 16)
   */
  score(items: readonly ClipScoreItem[], batchSize?: number): Promise<ClipScore[]>;
  /**
   * The same scores batch by batch, as each batch leaves the towers. Decoding of batch k+1 runs
   * while batch k is in inference, so the model does not wait on the decoder.
   */
  scoreBatches(items: readonly ClipScoreItem[], batchSize?: number): AsyncGenerator<ClipScoredBatch>;
  /** L2-normalised text embeddings, one per text. */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /** L2-normalised image embeddings of preprocessed CHW pixels (`count` images laid end to end). */
  embedPixels(pixels: Float32Array, count: number): Promise<Float32Array[]>;
  /** Decodes and preprocesses one image as the scorer does before inference. */
  preprocess(imagePath: string): Promise<Float32Array>;
  /** Releases both ONNX sessions; the scorer cannot be used afterwards. */
  close(): Promise<void>;
}

/**
 * Loads the CLIP model in `modelDir`: reads `model.json`, checks every listed file exists
 * (optionally its sha256), loads the tokenizer and both towers (CUDA first, then CPU).
 *
 * @throws ClipModelMissingError when the manifest or a model file is absent
 * @throws ClipModelInvalidError when the manifest is malformed, a checksum or the vocabulary size is wrong
 */
export async function loadClipModel(modelDir: string, options: LoadClipModelOptions): Promise<ClipScorer> {
  const dir = path.resolve(modelDir);
  const manifest = await readManifest(dir);
  const resolve = (file: string): string => resolveInside(dir, file);

  const needed = new Set([...Object.keys(manifest.files), manifest.vision, manifest.text, manifest.vocab]);
  for (const file of needed) {
    const full = resolve(file);
    const info = await stat(full).catch(() => undefined);
    if (info === undefined || !info.isFile()) throw new ClipModelMissingError(full, dir);
  }
  if (options.verifyChecksums === true) {
    for (const [file, expected] of Object.entries(manifest.files)) {
      const actual = await sha256File(resolve(file));
      if (actual !== expected.toLowerCase()) {
        throw new ClipModelInvalidError(
          `checksum mismatch for ${resolve(file)}: expected ${expected}, got ${actual}; run \`${CLIP_DOWNLOAD_COMMAND}\` again`,
        );
      }
    }
  }

  const maxMerges = manifest.vocabSize === undefined ? undefined : manifest.vocabSize - BYTE_TOKENS - MARKER_TOKENS;
  const tokenizer = await ClipTokenizer.fromFile(resolve(manifest.vocab), maxMerges === undefined ? {} : { maxMerges });
  if (manifest.vocabSize !== undefined && tokenizer.vocabSize !== manifest.vocabSize) {
    throw new ClipModelInvalidError(
      `vocabulary ${resolve(manifest.vocab)} gives ${tokenizer.vocabSize} tokens, model.json expects ${manifest.vocabSize}`,
    );
  }

  const sessionOpts = {
    logger: options.logger,
    ...(options.preferGpu === undefined ? {} : { preferGpu: options.preferGpu }),
    ...(options.sessionOptions === undefined ? {} : { sessionOptions: options.sessionOptions }),
  };
  const vision = await loadSession(resolve(manifest.vision), sessionOpts);
  let text: Awaited<ReturnType<typeof loadSession>>;
  try {
    text = await loadSession(resolve(manifest.text), sessionOpts);
  } catch (err) {
    await vision.session.release();
    throw err;
  }
  const provider = vision.provider === 'cuda' && text.provider === 'cuda' ? 'cuda' : 'cpu';
  const scorer = new OnnxClipScorer(dir, manifest, tokenizer, vision.session, text.session, provider);
  try {
    scorer.checkIo();
  } catch (err) {
    await scorer.close();
    throw err;
  }
  options.logger.info('CLIP model loaded', {
    modelId: manifest.id,
    standIn: manifest.standIn,
    provider: scorer.provider,
    modelDir: dir,
    vocabSize: tokenizer.vocabSize,
  });
  if (manifest.standIn) {
    options.logger.warn('CLIP model is a stand-in with random weights; its scores are not meaningful', {
      modelId: manifest.id,
    });
  }
  return scorer;
}

async function readManifest(dir: string): Promise<ClipManifest> {
  const file = path.join(dir, CLIP_MANIFEST_FILE);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new ClipModelMissingError(file, dir);
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ClipModelInvalidError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = clipManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ClipModelInvalidError(`${file} is not a valid CLIP manifest: ${issues}`);
  }
  return parsed.data;
}

function resolveInside(dir: string, file: string): string {
  const full = path.resolve(dir, file);
  if (full !== dir && !full.startsWith(dir + path.sep)) {
    throw new ClipModelInvalidError(`model file ${JSON.stringify(file)} points outside the model directory ${dir}`);
  }
  return full;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** A batch with its images decoded and texts tokenized, ready for inference. */
interface PreparedBatch {
  /** Index (into the whole request) of each pair in the batch. */
  indices: number[];
  /** Per pair: the CHW pixels, or the decode error. */
  pixels: (Float32Array | CorruptImageError)[];
  texts: string[];
}

class OnnxClipScorer implements ClipScorer {
  readonly modelId: string;
  readonly standIn: boolean;
  readonly manifest: ClipManifest;
  private closed = false;
  private readonly imageOutput: string;
  private readonly textOutput: string;

  constructor(
    readonly modelDir: string,
    manifest: ClipManifest,
    private readonly tokenizer: ClipTokenizer,
    private readonly vision: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    readonly provider: ClipProvider,
  ) {
    this.manifest = manifest;
    this.modelId = manifest.id;
    this.standIn = manifest.standIn;
    this.imageOutput = pickOutput(vision, 'image_embeds');
    this.textOutput = pickOutput(text, 'text_embeds');
  }

  /** Checks the towers take the inputs fed to them. */
  checkIo(): void {
    if (!this.vision.inputNames.includes('pixel_values')) {
      throw new ClipModelInvalidError(
        `vision tower has inputs [${this.vision.inputNames.join(', ')}], expected pixel_values`,
      );
    }
    const unknown = this.text.inputNames.filter((n) => n !== 'input_ids' && n !== 'attention_mask');
    if (!this.text.inputNames.includes('input_ids') || unknown.length > 0) {
      throw new ClipModelInvalidError(
        `text tower has inputs [${this.text.inputNames.join(', ')}], expected input_ids (and optionally attention_mask)`,
      );
    }
  }

  async score(items: readonly ClipScoreItem[], batchSize: number = DEFAULT_CLIP_BATCH_SIZE): Promise<ClipScore[]> {
    const results = new Array<ClipScore>(items.length);
    for await (const batch of this.scoreBatches(items, batchSize)) {
      batch.indices.forEach((index, k) => (results[index] = batch.scores[k] as ClipScore));
    }
    return results;
  }

  async *scoreBatches(
    items: readonly ClipScoreItem[],
    batchSize: number = DEFAULT_CLIP_BATCH_SIZE,
  ): AsyncGenerator<ClipScoredBatch> {
    this.assertOpen();
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    }
    const batchCount = Math.ceil(items.length / batchSize);
    const prepare = (k: number): Promise<PreparedBatch> => {
      const start = k * batchSize;
      const slice = items.slice(start, start + batchSize);
      return this.prepare(
        slice,
        slice.map((_, i) => start + i),
      );
    };
    let pending: Promise<PreparedBatch> | undefined = batchCount > 0 ? prepare(0) : undefined;
    try {
      for (let k = 0; k < batchCount; k++) {
        const batch = await (pending as Promise<PreparedBatch>);
        // Decode batch k+1 while batch k runs through the towers.
        pending = k + 1 < batchCount ? prepare(k + 1) : undefined;
        yield await this.run(batch);
      }
    } finally {
      // A consumer that stops early leaves no unobserved rejection behind.
      pending?.catch(() => undefined);
    }
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    this.assertOpen();
    if (texts.length === 0) return [];
    const out = await this.text.run(this.textFeeds(texts));
    return rows(embeddings(out, this.textOutput, texts.length, this.manifest.embedDim, 'text'));
  }

  async embedPixels(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    this.assertOpen();
    if (count === 0) return [];
    const size = this.manifest.imageSize;
    if (pixels.length !== count * 3 * size * size) {
      throw new RangeError(`expected ${count} images of 3x${size}x${size} floats, got ${pixels.length} floats`);
    }
    const out = await this.vision.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 3, size, size]) });
    return rows(embeddings(out, this.imageOutput, count, this.manifest.embedDim, 'image'));
  }

  preprocess(imagePath: string): Promise<Float32Array> {
    const { imageSize, mean, std } = this.manifest;
    return preprocessImage(imagePath, imageSize, mean, std);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.vision.release(), this.text.release()]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ClipScorer is closed');
  }

  private async prepare(items: readonly ClipScoreItem[], indices: number[]): Promise<PreparedBatch> {
    // Pairs sharing an image within a batch share one decode.
    const decodes = new Map<string, Promise<Float32Array | CorruptImageError>>();
    const decode = (imagePath: string): Promise<Float32Array | CorruptImageError> => {
      let pending = decodes.get(imagePath);
      if (pending === undefined) {
        pending = this.preprocess(imagePath).catch((err: unknown) => {
          if (err instanceof CorruptImageError) return err;
          throw err;
        });
        decodes.set(imagePath, pending);
      }
      return pending;
    };
    const pixels = await Promise.all(items.map((item) => decode(item.imagePath)));
    return { indices, pixels, texts: items.map((i) => i.text) };
  }

  private textFeeds(texts: readonly string[]): Record<string, ort.Tensor> {
    const { contextLength } = this.manifest;
    const ids = this.tokenizer.tokenize(texts, contextLength);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [texts.length, contextLength]),
    };
    if (this.text.inputNames.includes('attention_mask')) {
      const mask = attentionMask(ids, contextLength, this.tokenizer.endToken);
      feeds.attention_mask = new ort.Tensor('int64', mask, [texts.length, contextLength]);
    }
    return feeds;
  }

  private async run(batch: PreparedBatch): Promise<ClipScoredBatch> {
    const scores = new Array<ClipScore>(batch.indices.length);
    const ok: number[] = [];
    batch.pixels.forEach((p, i) => {
      if (p instanceof CorruptImageError) scores[i] = { error: p.message, code: 'corrupt_image' };
      else ok.push(i);
    });
    if (ok.length > 0) {
      const plane = 3 * this.manifest.imageSize * this.manifest.imageSize;
      const pixelData = new Float32Array(ok.length * plane);
      ok.forEach((i, row) => pixelData.set(batch.pixels[i] as Float32Array, row * plane));
      const [image, text] = await Promise.all([
        this.embedPixels(pixelData, ok.length),
        this.embedTexts(ok.map((i) => batch.texts[i] as string)),
      ]);
      ok.forEach((i, row) => (scores[i] = { score: cosine(image[row] as Float32Array, text[row] as Float32Array) }));
    }
    return { indices: batch.indices, scores };
  }
}

function pickOutput(session: ort.InferenceSession, preferred: string): string {
  if (session.outputNames.includes(preferred)) return preferred;
  throw new ClipModelInvalidError(`tower has outputs [${session.outputNames.join(', ')}], expected ${preferred}`);
}

function attentionMask(ids: BigInt64Array, contextLength: number, endToken: number): BigInt64Array {
  const mask = new BigInt64Array(ids.length);
  const end = BigInt(endToken);
  for (let offset = 0; offset < ids.length; offset += contextLength) {
    for (let j = 0; j < contextLength; j++) {
      mask[offset + j] = 1n;
      if (ids[offset + j] === end) break;
    }
  }
  return mask;
}

function embeddings(
  out: ort.InferenceSession.OnnxValueMapType,
  name: string,
  count: number,
  embedDim: number,
  tower: string,
): { data: Float32Array; dim: number } {
  const tensor = out[name];
  if (tensor === undefined || tensor.type !== 'float32' || tensor.dims.length !== 2 || tensor.dims[0] !== count) {
    throw new ClipModelInvalidError(`output ${name} is not a float32 [${count}, D] tensor`);
  }
  const dim = tensor.dims[1] as number;
  if (dim !== embedDim) {
    throw new ClipModelInvalidError(
      `the ${tower} tower gives ${dim}-dimensional embeddings, model.json says ${embedDim}`,
    );
  }
  return { data: tensor.data as Float32Array, dim };
}

/** Splits a row-major [N, dim] matrix into L2-normalised rows (a zero row stays zero). */
function rows({ data, dim }: { data: Float32Array; dim: number }): Float32Array[] {
  const out: Float32Array[] = [];
  for (let offset = 0; offset < data.length; offset += dim) {
    const row = data.slice(offset, offset + dim);
    let norm = 0;
    for (const x of row) norm += x * x;
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let j = 0; j < dim; j++) row[j] = (row[j] as number) * scale;
    }
    out.push(row);
  }
  return out;
}

/** Cosine of two L2-normalised vectors, clamped to [-1, 1]. */
function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let j = 0; j < a.length; j++) dot += (a[j] as number) * (b[j] as number);
  return Math.max(-1, Math.min(1, dot));
}
