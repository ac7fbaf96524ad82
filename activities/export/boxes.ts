/**
 * Spoof-region boxes as each export renders them. Boxes are stored as absolute pixel corners
 * `[x1, y1, x2, y2]`; `absolute` writes them as the paper does (floats, one decimal), `norm1`
 * divides by the image's width and height (0–1, four decimals) and `norm1000` scales to integers
 * 0–1000, as Qwen-VL-style grounding data does. The answer text and the structured box field
 * always use the same notation.
 */
import type { BoxFormat } from '../../config/build-input';

export type Box = [number, number, number, number];

const BOX_IN_TEXT =
  /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g;

export interface ImageSize {
  width: number | null;
  height: number | null;
}

export class BoxFormatError extends Error {
  override name = 'BoxFormatError';
}

/** The box's numbers in `format`. */
export function renderBox(box: Box, format: BoxFormat, size: ImageSize): Box {
  if (format === 'absolute') return box.map((v) => round(v, 1)) as Box;
  const { width, height } = size;
  if (!width || !height) throw new BoxFormatError(`box format ${format} needs the image size, which is not recorded`);
  const scale = format === 'norm1' ? 1 : 1000;
  const digits = format === 'norm1' ? 4 : 0;
  return box.map((v, i) => round(clamp((v / (i % 2 === 0 ? width : height)) * scale, scale), digits)) as Box;
}

/** The box as text in `format`: `[92.0, 339.0, 352.0, 507.0]`, `[0.1797, …]` or `[180, …]`. */
export function boxText(box: Box, format: BoxFormat): string {
  const digits = format === 'absolute' ? 1 : format === 'norm1' ? 4 : 0;
  return `[${box.map((v) => v.toFixed(digits)).join(', ')}]`;
}

/** Rewrites every box written in the answer into `format`; answers without a box are returned as they are. */
export function rewriteAnswerBoxes(answer: string, format: BoxFormat, size: ImageSize): string {
  if (format === 'absolute') return answer;
  return answer.replace(BOX_IN_TEXT, (_m, a: string, b: string, c: string, d: string) =>
    boxText(renderBox([Number(a), Number(b), Number(c), Number(d)], format, size), format),
  );
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
