// Must come first: lets ONNX Runtime's output tensors pass its own type checks under jest.

import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

import type * as clip from '../../../activities/clip';
import * as preprocessModule from '../../../activities/clip/preprocess';
import {
  CLIP_DOWNLOAD_COMMAND,
  ClipModelInvalidError,
  ClipModelMissingError,
  loadClipModel,
  type ClipLogger,
  type ClipScore,
  type ClipScorer,
} from '../../../activities/clip';

const MODEL_DIR = path.resolve(__dirname, '../../../models/tiny-clip-standin');

interface LogEntry {
  level: 'info' | 'warn';
  msg: string;
  attrs: Record<string, unknown> | undefined;
}

function recordingLogger(): ClipLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (msg, attrs) => entries.push({ level: 'info', msg, attrs }),
    warn: (msg, attrs) => entries.push({ level: 'warn', msg, attrs }),
  };
}

const isScore = (r: ClipScore | undefined): r is { score: number } => r !== undefined && 'score' in r;

let dir: string;
const images: string[] = [];
let corrupt: string;
const texts = [
  'A photo of a real person looking straight at the camera.',
  'A printed photograph is held in front of the camera; the paper border is visible.',
  'A replay attack: the face is shown on a phone screen with moire patterns.',
  'A silicone mask with a glossy surface and a fixed expression.',
];

beforeAll(async () => {
  // The CUDA attempt makes ONNX Runtime print its own error line; the scorer logs the fallback itself.
  ort.env.logLevel = 'fatal';
  dir = await mkdtemp(path.join(tmpdir(), 'fasforge-clip-scorer-'));
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < 6; i++) {
    const coarse = Buffer.alloc(6 * 6 * 3);
    for (let j = 0; j < coarse.length; j++) coarse[j] = Math.floor(random() * 256);
    const file = path.join(dir, `image-${i}.${i % 2 === 0 ? 'png' : 'jpg'}`);
    const pipeline = sharp(coarse, { raw: { width: 6, height: 6, channels: 3 } }).resize(240 + 40 * i, 300, {
      kernel: 'cubic',
    });
    await (i % 2 === 0 ? pipeline.png() : pipeline.jpeg()).toFile(file);
    images.push(file);
  }
  corrupt = path.join(dir, 'corrupt.jpg');
  const full = await readFile(images[1] as string);
  await writeFile(corrupt, full.subarray(0, Math.floor(full.length / 3)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadClipModel on the stand-in model', () => {
  let scorer: ClipScorer;
  const logger = recordingLogger();

  beforeAll(async () => {
    scorer = await loadClipModel(MODEL_DIR, { logger, verifyChecksums: true });
  });

  afterAll(async () => {
    await scorer.close();
  });

  it('loads the stand-in, says it is a stand-in and runs on the CPU here', () => {
    expect(scorer.modelId).toBe('fasforge-tiny-clip-standin');
    expect(scorer.standIn).toBe(true);
    expect(scorer.provider).toBe('cpu');
    expect(logger.entries.some((e) => e.level === 'warn' && /stand-in/.test(e.msg))).toBe(true);
    expect(logger.entries.some((e) => e.level === 'info' && e.attrs?.provider === 'cpu')).toBe(true);
  });

  it('gives finite scores within [-1, 1] for every pair', async () => {
    const items = images.flatMap((imagePath) => texts.map((text) => ({ imagePath, text })));
    const results = await scorer.score(items);
    expect(results).toHaveLength(items.length);
    for (const r of results) {
      expect(isScore(r)).toBe(true);
      if (isScore(r)) {
        expect(Number.isFinite(r.score)).toBe(true);
        expect(r.score).toBeGreaterThanOrEqual(-1);
        expect(r.score).toBeLessThanOrEqual(1);
      }
    }
    // The stand-in is built so that scores spread around the 0.15 threshold.
    const scores = results.filter(isScore).map((r) => r.score);
    expect(new Set(scores.map((s) => s.toFixed(6))).size).toBeGreaterThan(scores.length / 2);
  });

  it('gives the same score to the same pair with batch sizes 1 and 4', async () => {
    const items = images.map((imagePath, i) => ({ imagePath, text: texts[i % texts.length] as string }));
    const one = await scorer.score(items, 1);
    const four = await scorer.score(items, 4);
    items.forEach((_, i) => {
      const a = one[i];
      const b = four[i];
      if (!isScore(a) || !isScore(b)) throw new Error(`pair ${i} was not scored`);
      expect(a.score).toBeCloseTo(b.score, 5);
    });
    const repeated = await scorer.score([items[0]!, items[0]!, items[0]!], 2);
    for (const r of repeated) expect(isScore(r) && r.score).toBeCloseTo((one[0] as { score: number }).score, 5);
  });

  it('reports a corrupt image in a batch for that pair only and scores the rest', async () => {
    const items = [
      { imagePath: images[0] as string, text: texts[0] as string },
      { imagePath: corrupt, text: texts[1] as string },
      { imagePath: images[2] as string, text: texts[2] as string },
      { imagePath: path.join(dir, 'does-not-exist.png'), text: texts[3] as string },
    ];
    const results = await scorer.score(items, 4);
    const alone = await scorer.score([items[0]!, items[2]!], 1);
    expect(results[1]).toEqual({ error: expect.stringContaining(corrupt), code: 'corrupt_image' });
    expect(results[3]).toEqual({ error: expect.stringContaining('does-not-exist.png'), code: 'corrupt_image' });
    expect(isScore(results[0]) && results[0].score).toBeCloseTo((alone[0] as { score: number }).score, 5);
    expect(isScore(results[2]) && results[2].score).toBeCloseTo((alone[1] as { score: number }).score, 5);
  });

  it('returns an empty list for no pairs and rejects a batch size below one', async () => {
    await expect(scorer.score([])).resolves.toEqual([]);
    await expect(scorer.score([{ imagePath: images[0] as string, text: 'x' }], 0)).rejects.toThrow(RangeError);
  });

  it('starts decoding the next batch before inference of the current batch finishes', async () => {
    const events: string[] = [];
    const realPreprocess = preprocessModule.preprocessImage;
    const decode = jest.spyOn(preprocessModule, 'preprocessImage').mockImplementation(async (...args) => {
      events.push(`decode ${path.basename(args[0])}`);
      return realPreprocess(...args);
    });
    // The session class's prototype is not in onnxruntime's typings (only the factory is).
    const sessionPrototype = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
    const realRun = sessionPrototype.run;
    const run = jest.spyOn(sessionPrototype, 'run').mockImplementation(async function (
      this: ort.InferenceSession,
      ...args: Parameters<ort.InferenceSession['run']>
    ) {
      events.push('run start');
      const out = await realRun.apply(this, args);
      events.push('run end');
      return out;
    } as ort.InferenceSession['run']);
    try {
      const items = images.slice(0, 4).map((imagePath) => ({ imagePath, text: 'a face' }));
      const results = await scorer.score(items, 2);
      expect(results.every(isScore)).toBe(true);
    } finally {
      decode.mockRestore();
      run.mockRestore();
    }
    const secondBatchDecode = events.indexOf(`decode ${path.basename(images[2] as string)}`);
    const firstRunEnd = events.indexOf('run end');
    expect(secondBatchDecode).toBeGreaterThanOrEqual(0);
    expect(firstRunEnd).toBeGreaterThanOrEqual(0);
    expect(secondBatchDecode).toBeLessThan(firstRunEnd);
  });
});

describe('loading failures', () => {
  let copy: string;

  beforeEach(async () => {
    copy = await mkdtemp(path.join(tmpdir(), 'fasforge-clip-model-'));
    await cp(MODEL_DIR, copy, { recursive: true });
  });

  afterEach(async () => {
    await rm(copy, { recursive: true, force: true });
  });

  it('names the missing model file and the download command', async () => {
    await unlink(path.join(copy, 'text.onnx'));
    const err = await loadClipModel(copy, { logger: recordingLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClipModelMissingError);
    expect((err as Error).message).toContain(path.join(copy, 'text.onnx'));
    expect((err as Error).message).toContain('npx fasforge models download clip');
    expect(CLIP_DOWNLOAD_COMMAND).toBe('npx fasforge models download clip');
  });

  it('gives the download command when the model directory has no model.json', async () => {
    await expect(loadClipModel(path.join(copy, 'nowhere'), { logger: recordingLogger() })).rejects.toThrow(
      /model\.json.*npx fasforge models download clip/,
    );
  });

  it('rejects a file whose sha256 does not match when checksums are verified', async () => {
    const vocab = path.join(copy, 'bpe_vocab.txt.gz');
    const bytes = await readFile(vocab);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await writeFile(vocab, bytes);
    await expect(loadClipModel(copy, { logger: recordingLogger(), verifyChecksums: true })).rejects.toThrow(
      ClipModelInvalidError,
    );
  });

  it('rejects a manifest that is missing required fields', async () => {
    await writeFile(path.join(copy, 'model.json'), JSON.stringify({ id: 'x' }));
    await expect(loadClipModel(copy, { logger: recordingLogger() })).rejects.toThrow(/embedDim/);
  });
});

describe('CPU fallback', () => {
  it('reports the CPU provider and warns once per process with the reason', async () => {
    let fresh!: typeof clip;
    jest.isolateModules(() => {
      fresh = require('../../../activities/clip') as typeof clip;
    });
    const logger = recordingLogger();
    const first = await fresh.loadClipModel(MODEL_DIR, { logger });
    const second = await fresh.loadClipModel(MODEL_DIR, { logger });
    try {
      expect(first.provider).toBe('cpu');
      expect(second.provider).toBe('cpu');
      const fallbacks = logger.entries.filter((e) => e.level === 'warn' && /CUDA/.test(e.msg));
      expect(fallbacks).toHaveLength(1);
      expect(String(fallbacks[0]?.attrs?.reason)).not.toHaveLength(0);
      expect(fresh.cudaUnavailableReason()).toBe(fallbacks[0]?.attrs?.reason);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('goes straight to the CPU without a warning when the GPU is not wanted', async () => {
    let fresh!: typeof clip;
    jest.isolateModules(() => {
      fresh = require('../../../activities/clip') as typeof clip;
    });
    const logger = recordingLogger();
    const scorer = await fresh.loadClipModel(MODEL_DIR, { logger, preferGpu: false });
    await scorer.close();
    expect(scorer.provider).toBe('cpu');
    expect(logger.entries.filter((e) => /CUDA/.test(e.msg))).toHaveLength(0);
    expect(fresh.cudaUnavailableReason()).toBeUndefined();
    await expect(scorer.score([])).rejects.toThrow(/closed/);
  });
});
