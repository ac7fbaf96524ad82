import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { CorruptImageError, preprocessImage, resizedDimensions } from '../../../activities/clip';

const MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
const STD = [0.26862954, 0.26130258, 0.27577711] as const;
const SIZE = 224;
const PLANE = SIZE * SIZE;

const normalised = (value: number, c: 0 | 1 | 2): number => (value / 255 - MEAN[c]) / STD[c];
const tolerance = 1.5 / 255 / 0.26; // a rounding step of one 8-bit level, normalised

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fasforge-clip-preprocess-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function solid(name: string, width: number, height: number, rgb: [number, number, number]): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(file);
  return file;
}

/** Horizontal (or vertical) bands: [start colour | middle colour | end colour]. */
async function banded(
  name: string,
  width: number,
  height: number,
  horizontal: boolean,
  edge: number,
  colours: [[number, number, number], [number, number, number], [number, number, number]],
): Promise<string> {
  const data = Buffer.alloc(width * height * 3);
  const length = horizontal ? width : height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = horizontal ? x : y;
      const band = t < edge ? 0 : t >= length - edge ? 2 : 1;
      data.set(colours[band], (y * width + x) * 3);
    }
  }
  const file = path.join(dir, name);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

function channelRange(out: Float32Array, c: number): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = c * PLANE; i < (c + 1) * PLANE; i++) {
    const v = out[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

describe('preprocessImage', () => {
  it('returns 3 × 224 × 224 float32 values in channel-major order', async () => {
    const file = await solid('shape.png', 320, 240, [10, 20, 30]);
    const out = await preprocessImage(file, SIZE, MEAN, STD);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(3 * SIZE * SIZE);
  });

  it('normalises a solid colour image to (value / 255 - mean) / std in every channel', async () => {
    const rgb: [number, number, number] = [200, 100, 50];
    const out = await preprocessImage(await solid('solid.png', 500, 300, rgb), SIZE, MEAN, STD);
    for (const c of [0, 1, 2] as const) {
      const { min, max } = channelRange(out, c);
      expect(Math.abs(min - normalised(rgb[c], c))).toBeLessThan(tolerance);
      expect(Math.abs(max - normalised(rgb[c], c))).toBeLessThan(tolerance);
    }
  });

  it('centre-crops a wide image to its middle square', async () => {
    // 448×224 needs no resize: the crop keeps x in [112, 336), exactly the green middle band.
    const file = await banded('wide.png', 448, 224, true, 112, [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ]);
    const out = await preprocessImage(file, SIZE, MEAN, STD);
    expect(channelRange(out, 0).max).toBeCloseTo(normalised(0, 0), 4);
    expect(channelRange(out, 1).min).toBeCloseTo(normalised(255, 1), 4);
    expect(channelRange(out, 2).max).toBeCloseTo(normalised(0, 2), 4);
  });

  it('resizes the shortest side to 224 before centre-cropping a tall image', async () => {
    // 300×600 → 224×448; the 150-pixel bands at top and bottom shrink to 112 and are cropped away.
    expect(resizedDimensions(300, 600, SIZE)).toEqual({ width: 224, height: 448 });
    const file = await banded('tall.png', 300, 600, false, 150, [
      [255, 255, 255],
      [40, 80, 120],
      [255, 255, 255],
    ]);
    const out = await preprocessImage(file, SIZE, MEAN, STD);
    const rows = (c: number, y: number): number => out[c * PLANE + y * SIZE + SIZE / 2] as number;
    for (const c of [0, 1, 2] as const) {
      // Away from the cut the bicubic kernel sees only the middle colour.
      for (const y of [4, SIZE / 2, SIZE - 5]) {
        expect(Math.abs(rows(c, y) - normalised([40, 80, 120][c] as number, c))).toBeLessThan(tolerance);
      }
    }
  });

  it('expands a greyscale image to three equal channels and drops alpha', async () => {
    const grey = path.join(dir, 'grey.png');
    await sharp({ create: { width: 230, height: 230, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .toColourspace('b-w')
      .png()
      .toFile(grey);
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const g = await preprocessImage(grey, SIZE, MEAN, STD);
    for (const c of [0, 1, 2] as const) expect(g[c * PLANE + 1000]).toBeCloseTo(normalised(128, c), 2);

    const rgba = path.join(dir, 'rgba.png');
    await sharp({ create: { width: 224, height: 224, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } })
      .png()
      .toFile(rgba);
    const a = await preprocessImage(rgba, SIZE, MEAN, STD);
    expect(a.length).toBe(3 * PLANE);
    expect(a[2 * PLANE]).toBeCloseTo(normalised(255, 2), 4);
  });

  it('throws CorruptImageError naming the path for a truncated JPEG', async () => {
    const jpeg = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#8a5a44' } })
      .jpeg({ quality: 90 })
      .toBuffer();
    const file = path.join(dir, 'truncated.jpg');
    await writeFile(file, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    expect((await readFile(file)).length).toBeLessThan(jpeg.length);
    const err = await preprocessImage(file, SIZE, MEAN, STD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptImageError);
    expect((err as CorruptImageError).message).toContain(file);
    expect((err as CorruptImageError).reason.length).toBeGreaterThan(0);
    expect((err as CorruptImageError).code).toBe('corrupt_image');
  });

  it('throws CorruptImageError for a file that is not an image or does not exist', async () => {
    const text = path.join(dir, 'not-an-image.jpg');
    await writeFile(text, 'hello');
    await expect(preprocessImage(text, SIZE, MEAN, STD)).rejects.toBeInstanceOf(CorruptImageError);
    await expect(preprocessImage(path.join(dir, 'missing.png'), SIZE, MEAN, STD)).rejects.toThrow(/missing\.png/);
  });
});
