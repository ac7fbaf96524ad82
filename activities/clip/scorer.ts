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
    super(`CLIP model file is missing: ${file} (model directory ${modelDir}). Run \`${CLIP_DOWNLOAD_COMMAND}\` to fetch it.`);
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

/** A loaded CLIP model. */
export interface ClipScorer {
  /** `id` from model.json. */
  readonly modelId: string;
  /** True for the generated random-weight stand-in, whose scores mean nothing. */
  readonly standIn: boolean;
  /** Execution provider the towers run on. */
  readonly provider: ClipProvider;
  /**
   * Scores pairs by the cosine of the L2-normalised image and text embeddings, in input order.
   * A corrupt image yields an error entry for that pair only.
   *
   * @param batchSize pairs per inference batch (default 16)
   */
  score(items: readonly ClipScoreItem[], batchSize?: number): Promise<ClipScore[]>;
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
  const scorer = new OnnxClipScorer(manifest, tokenizer, vision.session, text.session, vision.provider === 'cuda' && text.provider === 'cuda' ? 'cuda' : 'cpu');
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
  private closed = false;
  private readonly imageOutput: string;
  private readonly textOutput: string;

  constructor(
    private readonly manifest: ClipManifest,
    private readonly tokenizer: ClipTokenizer,
    private readonly vision: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    readonly provider: ClipProvider,
  ) {
    this.modelId = manifest.id;
    this.standIn = manifest.standIn;
    this.imageOutput = pickOutput(vision, 'image_embeds');
    this.textOutput = pickOutput(text, 'text_embeds');
  }

  /** Checks the towers take the inputs fed to them. */
  checkIo(): void {
    if (!this.vision.inputNames.includes('pixel_values')) {
      throw new ClipModelInvalidError(`vision tower has inputs [${this.vision.inputNames.join(', ')}], expected pixel_values`);
    }
    const unknown = this.text.inputNames.filter((n) => n !== 'input_ids' && n !== 'attention_mask');
    if (!this.text.inputNames.includes('input_ids') || unknown.length > 0) {
      throw new ClipModelInvalidError(
        `text tower has inputs [${this.text.inputNames.join(', ')}], expected input_ids (and optionally attention_mask)`,
      );
    }
  }

  async score(items: readonly ClipScoreItem[], batchSize: number = DEFAULT_CLIP_BATCH_SIZE): Promise<ClipScore[]> {
    if (this.closed) throw new Error('ClipScorer is closed');
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const results = new Array<ClipScore>(items.length);
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
    for (let k = 0; k < batchCount; k++) {
      const batch = await (pending as Promise<PreparedBatch>);
      // Decode batch k+1 while batch k runs through the towers.
      pending = k + 1 < batchCount ? prepare(k + 1) : undefined;
      pending?.catch(() => undefined);
      await this.run(batch, results);
    }
    return results;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.vision.release(), this.text.release()]);
  }

  private async prepare(items: readonly ClipScoreItem[], indices: number[]): Promise<PreparedBatch> {
    const { imageSize, mean, std } = this.manifest;
    // Pairs sharing an image within a batch share one decode.
    const decodes = new Map<string, Promise<Float32Array | CorruptImageError>>();
    const decode = (imagePath: string): Promise<Float32Array | CorruptImageError> => {
      let pending = decodes.get(imagePath);
      if (pending === undefined) {
        pending = preprocessImage(imagePath, imageSize, mean, std).catch((err: unknown) => {
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

  private async run(batch: PreparedBatch, results: ClipScore[]): Promise<void> {
    const ok: number[] = [];
    batch.pixels.forEach((p, i) => {
      if (p instanceof CorruptImageError) {
        results[batch.indices[i] as number] = { error: p.message, code: 'corrupt_image' };
      } else {
        ok.push(i);
      }
    });
    if (ok.length === 0) return;

    const { imageSize, contextLength } = this.manifest;
    const plane = 3 * imageSize * imageSize;
    const pixelData = new Float32Array(ok.length * plane);
    ok.forEach((i, row) => pixelData.set(batch.pixels[i] as Float32Array, row * plane));
    const ids = this.tokenizer.tokenize(
      ok.map((i) => batch.texts[i] as string),
      contextLength,
    );
    const textFeeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [ok.length, contextLength]),
    };
    if (this.text.inputNames.includes('attention_mask')) {
      textFeeds.attention_mask = new ort.Tensor('int64', attentionMask(ids, contextLength, this.tokenizer.endToken), [
        ok.length,
        contextLength,
      ]);
    }
    const [imageOut, textOut] = await Promise.all([
      this.vision.run({ pixel_values: new ort.Tensor('float32', pixelData, [ok.length, 3, imageSize, imageSize]) }),
      this.text.run(textFeeds),
    ]);
    const image = embeddings(imageOut, this.imageOutput, ok.length);
    const text = embeddings(textOut, this.textOutput, ok.length);
    if (image.dim !== this.manifest.embedDim || text.dim !== this.manifest.embedDim) {
      throw new ClipModelInvalidError(
        `embeddings have ${image.dim} (image) and ${text.dim} (text) dimensions, model.json says ${this.manifest.embedDim}`,
      );
    }
    ok.forEach((i, row) => {
      results[batch.indices[i] as number] = { score: cosine(image.data, text.data, row, image.dim) };
    });
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

function embeddings(out: ort.InferenceSession.OnnxValueMapType, name: string, rows: number): { data: Float32Array; dim: number } {
  const tensor = out[name];
  if (tensor === undefined || tensor.type !== 'float32' || tensor.dims.length !== 2 || tensor.dims[0] !== rows) {
    throw new ClipModelInvalidError(`output ${name} is not a float32 [${rows}, D] tensor`);
  }
  return { data: tensor.data as Float32Array, dim: tensor.dims[1] as number };
}

/** Cosine of row `row` of two row-major [N, dim] matrices (0 when either row is zero). */
function cosine(a: Float32Array, b: Float32Array, row: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = row * dim, end = j + dim; j < end; j++) {
    const x = a[j] as number;
    const y = b[j] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}
