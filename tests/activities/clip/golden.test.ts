/**
 * Parity with the reference implementation: tests/fixtures/clip-golden holds what open_clip gives
 * (scripts/clip-golden/make-golden.py) for a corpus of strings and the sample images, with a
 * CLIP-shaped random-weight model exported from it to ONNX. fasforge must give the same token ids,
 * nearly the same pixels, and embeddings at cosine >= 0.999.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

import * as ort from 'onnxruntime-node';

import { ClipTokenizer, loadClipModel, type ClipScorer } from '../../../activities/clip';

const ROOT = path.resolve(__dirname, '../../..');
const GOLDEN = path.join(ROOT, 'tests/fixtures/clip-golden');
const MODEL_DIR = path.join(GOLDEN, 'model');

interface TokenCase {
  text: string;
  ids: number[];
  row: number[];
}
interface Tokens {
  vocabSize: number;
  sot: number;
  eot: number;
  contextLength: number;
  cases: TokenCase[];
}
interface Embeddings {
  images: { file: string; pixels: string; embedding: number[] }[];
  texts: { text: string; embedding: number[] }[];
}

const tokens = JSON.parse(readFileSync(path.join(GOLDEN, 'tokens.json'), 'utf8')) as Tokens;
const golden = JSON.parse(readFileSync(path.join(GOLDEN, 'embeddings.json'), 'utf8')) as Embeddings;
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];
const SIZE = 224;
const PLANE = SIZE * SIZE;

/**
 * Pixel tolerance, in 8-bit levels of the resized image, between sharp's and PIL's bicubic
 * resampling (both round to 8 bits between their two passes, at different points). Measured on
 * the sample images: at most 5 levels on any value, 0.22 levels on average, and about 80% of
 * values identical.
 */
const MAX_LEVELS = 6;
const MEAN_LEVELS = 0.35;
/**
 * A random-weight image tower is smooth in its input, so beyond the cosine >= 0.999 the
 * image embeddings are also held to 1 - cosine <= 5e-6 (measured: at most 6e-7). That bound
 * catches preprocessing mistakes the looser one lets through, such as ImageNet's mean and std.
 */
const IMAGE_GAP = 5e-6;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

/** The reference pixel tensor: the stored 8-bit CHW values, normalised as open_clip does. */
function referencePixels(file: string): Float32Array {
  const u8 = gunzipSync(readFileSync(path.join(GOLDEN, file)));
  expect(u8.length).toBe(3 * PLANE);
  const out = new Float32Array(3 * PLANE);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / PLANE);
    out[i] = ((u8[i] as number) / 255 - (MEAN[c] as number)) / (STD[c] as number);
  }
  return out;
}

/** Our normalised pixels back in 8-bit levels, to compare with the reference's bytes. */
function levels(pixels: Float32Array): Float64Array {
  const out = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = Math.floor(i / PLANE);
    out[i] = ((pixels[i] as number) * (STD[c] as number) + (MEAN[c] as number)) * 255;
  }
  return out;
}

describe('tokenizer parity with open_clip', () => {
  const tokenizer = ClipTokenizer.fromFileSync(path.join(MODEL_DIR, 'bpe_simple_vocab_16e6.txt.gz'));

  it('covers at least 200 strings, several far past the 77-token context, some of them mojibake', () => {
    expect(tokens.cases.length).toBeGreaterThanOrEqual(200);
    expect(tokens.cases.filter((c) => c.text.includes('Ã')).length).toBeGreaterThanOrEqual(10);
    expect(tokens.cases.filter((c) => c.ids.length > 100).length).toBeGreaterThanOrEqual(5);
  });

  it('builds the same vocabulary size and marker ids', () => {
    expect(tokenizer.vocabSize).toBe(tokens.vocabSize);
    expect(tokenizer.startToken).toBe(tokens.sot);
    expect(tokenizer.endToken).toBe(tokens.eot);
  });

  it.each(tokens.cases.map((c, i) => [i, JSON.stringify(c.text).slice(0, 60), c] as const))(
    'string %i %s gives the reference token ids',
    (_i, _label, c) => {
      expect(tokenizer.encode(c.text)).toEqual(c.ids);
      expect(Array.from(tokenizer.tokenize([c.text], tokens.contextLength), Number)).toEqual(c.row);
    },
  );
});

describe('towers and preprocessing against the reference', () => {
  let scorer: ClipScorer;

  beforeAll(async () => {
    ort.env.logLevel = 'fatal';
    scorer = await loadClipModel(MODEL_DIR, {
      logger: { info: () => undefined, warn: () => undefined },
      preferGpu: false,
      verifyChecksums: true,
    });
  });

  afterAll(async () => {
    await scorer.close();
  });

  it.each(golden.images.map((i) => [i.file, i] as const))(
    'preprocesses %s within the stated pixel tolerance',
    async (_file, image) => {
      const ours = levels(await scorer.preprocess(path.join(ROOT, image.file)));
      const ref = gunzipSync(readFileSync(path.join(GOLDEN, image.pixels)));
      let max = 0;
      let sum = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs((ours[i] as number) - (ref[i] as number));
        max = Math.max(max, d);
        sum += d;
      }
      expect(max).toBeLessThanOrEqual(MAX_LEVELS + 1e-3);
      expect(sum / ours.length).toBeLessThanOrEqual(MEAN_LEVELS);
    },
  );

  it('embeds every corpus string at cosine >= 0.999 with the reference', async () => {
    const texts = golden.texts.map((t) => t.text);
    const ours = await scorer.embedTexts(texts);
    const worst = Math.min(...ours.map((e, i) => cosine(e, golden.texts[i]!.embedding)));
    expect(worst).toBeGreaterThanOrEqual(0.999);
    // Same token ids through the same weights: equal up to float rounding.
    expect(1 - worst).toBeLessThan(1e-6);
  });

  it('embeds the reference pixels at cosine >= 0.9999 (the ONNX export itself)', async () => {
    const pixels = new Float32Array(golden.images.length * 3 * PLANE);
    golden.images.forEach((img, i) => pixels.set(referencePixels(img.pixels), i * 3 * PLANE));
    const ours = await scorer.embedPixels(pixels, golden.images.length);
    ours.forEach((e, i) => expect(cosine(e, golden.images[i]!.embedding)).toBeGreaterThanOrEqual(0.9999));
  });

  it('embeds each sample image from its file at cosine >= 0.999 with the reference', async () => {
    for (const img of golden.images) {
      const [ours] = await scorer.embedPixels(await scorer.preprocess(path.join(ROOT, img.file)), 1);
      expect(cosine(ours!, img.embedding)).toBeGreaterThanOrEqual(0.999);
      expect(1 - cosine(ours!, img.embedding)).toBeLessThanOrEqual(IMAGE_GAP);
    }
  });

  it('tells a preprocessing with the wrong normalisation apart from the reference', async () => {
    const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const gaps: number[] = [];
    for (const img of golden.images) {
      const pixels = await scorer.preprocess(path.join(ROOT, img.file));
      const wrong = pixels.map((v, i) => {
        const c = Math.floor(i / PLANE);
        const unit = v * (STD[c] as number) + (MEAN[c] as number);
        return (unit - (IMAGENET.mean[c] as number)) / (IMAGENET.std[c] as number);
      });
      const [ours] = await scorer.embedPixels(wrong, 1);
      gaps.push(1 - cosine(ours!, img.embedding));
    }
    expect(Math.min(...gaps)).toBeGreaterThan(IMAGE_GAP);
  });

  it('scores image/text pairs as the cosine of the reference embeddings', async () => {
    const items = golden.images.map((img, i) => ({
      imagePath: path.join(ROOT, img.file),
      text: golden.texts[i]!.text,
    }));
    const scores = await scorer.score(items, 4);
    scores.forEach((s, i) => {
      const expected = cosine(golden.images[i]!.embedding, golden.texts[i]!.embedding);
      expect('score' in s && s.score).toBeCloseTo(expected, 3);
    });
  });
});
