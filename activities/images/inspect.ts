/**
 * Image hygiene with sharp: content hash, header checks before any decode (empty file, not an
 * image, pixel limit, minimum side), a full decode that proves the file is whole, and the
 * conversions the models need (EXIF orientation applied; CMYK, greyscale and 16-bit made 8-bit
 * sRGB). A bad file is reported with a reason, never thrown, so ingest can record why.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import phash from 'sharp-phash';

export interface HygieneOptions {
  /** Width × height above which an image is refused before it is decoded. */
  maxPixels: number;
  /** Shorter side (after EXIF orientation) below which an image is refused. */
  minSide: number;
}

export const DEFAULT_HYGIENE: HygieneOptions = { maxPixels: 50_000_000, minSide: 64 };

export type RejectReason =
  'unreadable_file' | 'empty_file' | 'not_an_image' | 'corrupt_image' | 'too_many_pixels' | 'too_small';

export type InspectedImage =
  | {
      ok: true;
      contentHash: string;
      width: number;
      height: number;
      format: string;
      /** 64-bit perceptual hash, a string of 0s and 1s. */
      phash: string;
      /** 8-bit sRGB PNG to use instead of the original, when the original needed converting. */
      normalized?: Buffer;
      /** What was converted, e.g. `orientation 6 applied`, `cmyk → srgb`. */
      changes: string[];
    }
  | { ok: false; reason: RejectReason; detail: string; contentHash?: string };

/** Formats a vision model or CLIP takes as they are, when already 8-bit sRGB and upright. */
const PASS_THROUGH = new Set(['jpeg', 'png', 'webp']);

export async function inspectImage(file: string, opts: HygieneOptions = DEFAULT_HYGIENE): Promise<InspectedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    return { ok: false, reason: 'unreadable_file', detail: (err as Error).message };
  }
  return inspectImageBytes(bytes, opts);
}

export async function inspectImageBytes(
  bytes: Buffer,
  opts: HygieneOptions = DEFAULT_HYGIENE,
): Promise<InspectedImage> {
  if (bytes.length === 0) return { ok: false, reason: 'empty_file', detail: 'the file has zero bytes' };
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const fail = (reason: RejectReason, detail: string): InspectedImage => ({ ok: false, reason, detail, contentHash });

  let meta: Metadata;
  try {
    // Header only: the pixel limit is checked here, before a bomb can be decoded.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    const message = (err as Error).message;
    return /unsupported image format/i.test(message)
      ? fail('not_an_image', 'the content is not an image format sharp can read (JPEG, PNG, WebP, TIFF, GIF, AVIF)')
      : fail('corrupt_image', message);
  }
  const { width = 0, height = 0 } = meta.autoOrient ?? meta;
  if (width * height > opts.maxPixels) {
    return fail(
      'too_many_pixels',
      `${width}×${height} = ${width * height} pixels is above the limit of ${opts.maxPixels} (source option maxPixels)`,
    );
  }
  if (Math.min(width, height) < opts.minSide) {
    return fail(
      'too_small',
      `${width}×${height} has a side below the minimum of ${opts.minSide} (source option minSide)`,
    );
  }

  const changes: string[] = [];
  if (meta.orientation && meta.orientation > 1) changes.push(`EXIF orientation ${meta.orientation} applied`);
  if (meta.space && meta.space !== 'srgb') changes.push(`${meta.space} → srgb`);
  if (meta.depth && meta.depth !== 'uchar') changes.push(`${meta.depth} → 8-bit`);
  if (meta.format && !PASS_THROUGH.has(meta.format)) changes.push(`${meta.format} → png`);

  let normalized: Buffer | undefined;
  let hash: string;
  try {
    // failOn 'truncated' makes sharp refuse a JPEG or PNG whose data ends early.
    const pipeline = sharp(bytes, { failOn: 'truncated', limitInputPixels: opts.maxPixels });
    if (changes.length > 0) {
      normalized = await pipeline.rotate().toColourspace('srgb').png().toBuffer();
      hash = await phash(normalized);
    } else {
      // The pixels decoded for the check feed the perceptual hash, so the file is decoded once.
      const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      hash = await phash(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    }
  } catch (err) {
    return fail('corrupt_image', (err as Error).message);
  }
  return { ok: true, contentHash, width, height, format: meta.format ?? 'unknown', phash: hash, normalized, changes };
}

/** Hamming distance between two perceptual hashes of equal length. */
export function phashDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i += 1) if (a.charCodeAt(i) !== b.charCodeAt(i)) d += 1;
  return d;
}

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/** The image as a data URL for a model request; formats a model may not take are re-encoded as JPEG. */
export async function imageDataUrl(file: string): Promise<string> {
  const ext = path.extname(file).toLowerCase();
  const mime = MIME[ext];
  const bytes = mime ? await fs.readFile(file) : await sharp(file).jpeg({ quality: 90 }).toBuffer();
  return `data:${mime ?? 'image/jpeg'};base64,${bytes.toString('base64')}`;
}

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);
export const VIDEO_EXTENSIONS = new Set(['.mov', '.mp4', '.avi', '.mkv', '.webm']);
