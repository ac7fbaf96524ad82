/**
 * Image decoding with sharp: content hash, size, and a full decode that proves the file is a
 * usable image. A corrupt or truncated file is reported, not thrown, so ingest can record why.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

export type InspectedImage =
  | { ok: true; contentHash: string; width: number; height: number; format: string }
  | { ok: false; reason: 'corrupt_image' | 'unreadable_file'; detail: string; contentHash?: string };

export async function inspectImage(file: string): Promise<InspectedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    return { ok: false, reason: 'unreadable_file', detail: `${file}: ${(err as Error).message}` };
  }
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  try {
    // failOn 'truncated' makes sharp refuse a JPEG or PNG whose data ends early.
    const { info } = await sharp(bytes, { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
    const meta = await sharp(bytes).metadata();
    return { ok: true, contentHash, width: info.width, height: info.height, format: meta.format ?? 'unknown' };
  } catch (err) {
    return { ok: false, reason: 'corrupt_image', detail: `${file}: ${(err as Error).message}`, contentHash };
  }
}

const MIME: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };

/** The image as a data URL for a model request; formats a model may not take are re-encoded as JPEG. */
export async function imageDataUrl(file: string): Promise<string> {
  const ext = path.extname(file).toLowerCase();
  const mime = MIME[ext];
  const bytes = mime ? await fs.readFile(file) : await sharp(file).jpeg({ quality: 90 }).toBuffer();
  return `data:${mime ?? 'image/jpeg'};base64,${bytes.toString('base64')}`;
}

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);
export const VIDEO_EXTENSIONS = new Set(['.mov', '.mp4', '.avi', '.mkv', '.webm']);
