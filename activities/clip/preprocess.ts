/**
 * CLIP image preprocessing with sharp: bicubic resize of the shortest side, centre crop,
 * RGB, float CHW, per-channel normalisation.
 */
import sharp from 'sharp';

/** Thrown when an image cannot be read or decoded; names the path and sharp's reason. */
export class CorruptImageError extends Error {
  override readonly name = 'CorruptImageError';
  /** Machine-readable code used in score results. */
  readonly code = 'corrupt_image' as const;

  constructor(
    /** The image that failed. */
    readonly path: string,
    /** sharp's (or the file system's) reason. */
    readonly reason: string,
  ) {
    super(`cannot decode image ${path}: ${reason}`);
  }
}

/**
 * Size after resizing the shortest side to `size`, as torchvision's `Resize(size)` computes it
 * (the long side is truncated, not rounded).
 */
export function resizedDimensions(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.max(size, Math.floor((size * height) / width)) };
  return { width: Math.max(size, Math.floor((size * width) / height)), height: size };
}

/**
 * Loads an image and turns it into CLIP's input: shortest side resized to `size` (bicubic),
 * centre-cropped to `size`×`size`, RGB (alpha dropped, greyscale expanded), laid out as
 * float32 CHW and normalised with `(x / 255 - mean[c]) / std[c]`.
 *
 * EXIF orientation is not applied, as with CLIP's PIL loader.
 *
 * @throws CorruptImageError when the file is missing, unreadable or not a decodable image
 */
export async function preprocessImage(
  path: string,
  size: number,
  mean: readonly [number, number, number] | readonly number[],
  std: readonly [number, number, number] | readonly number[],
): Promise<Float32Array> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  if (mean.length !== 3 || std.length !== 3) throw new RangeError('mean and std must have three channels');
  let pixels: Buffer;
  try {
    // failOn 'warning' (sharp's default) makes truncated files an error rather than grey pixels.
    const image = sharp(path, { failOn: 'warning' });
    const meta = await image.metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('image has no dimensions');
    const target = resizedDimensions(meta.width, meta.height, size);
    const left = roundHalfEven((target.width - size) / 2);
    const top = roundHalfEven((target.height - size) / 2);
    const { data, info } = await image
      .resize(target.width, target.height, { fit: 'fill', kernel: 'cubic' })
      .extract({ left, top, width: size, height: size })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) {
      throw new Error(`unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
    }
    pixels = data;
  } catch (err) {
    throw new CorruptImageError(path, err instanceof Error ? err.message : String(err));
  }
  return toNormalisedChw(pixels, size, mean, std);
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets use it). */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Converts interleaved 8-bit RGB to normalised float32 CHW. */
export function toNormalisedChw(
  rgb: Uint8Array,
  size: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const plane = size * size;
  if (rgb.length !== plane * 3) throw new RangeError(`expected ${plane * 3} bytes of RGB, got ${rgb.length}`);
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * (std[c] as number));
    const shift = (mean[c] as number) / (std[c] as number);
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (rgb[i * 3 + c] as number) * scale - shift;
  }
  return out;
}
