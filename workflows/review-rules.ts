/**
 * Pure rules the review gate applies: spoof-region boxes in answer text, the durations of
 * its timeout policy, and the pages of its queries. Deterministic and free of imports, so
 * workflow code can use them.
 */
export type Box = [number, number, number, number];

const BOX = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g;

/** Every `[x1, y1, x2, y2]` box written in a text, in order. */
export function boxesIn(text: string): Box[] {
  return [...text.matchAll(BOX)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
}

/** Boxes are equal when every corner agrees to within rounding of the one decimal answers use. */
export const sameBox = (a: Box, b: Box): boolean => a.every((v, i) => Math.abs(v - b[i]!) < 0.05);

export const formatBox = (box: Box): string => `[${box.map((v) => (Math.round(v * 10) / 10).toFixed(1)).join(', ')}]`;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration such as `90s`, `30m`, `12h` or `7d` (the build input's format). */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const MAX_REVIEW_PAGE = 500;

export interface PageRequest {
  offset?: number;
  limit?: number;
}

/** Why a page request is refused: offset and limit must be whole numbers, limit at most 500. */
export function pageError(page: PageRequest | undefined): string | undefined {
  if (page === undefined || page === null) return undefined;
  if (typeof page !== 'object') return 'the page request must be an object like {"offset": 0, "limit": 50}';
  for (const [key, max] of [
    ['offset', Number.MAX_SAFE_INTEGER],
    ['limit', MAX_REVIEW_PAGE],
  ] as const) {
    const v = page[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      return `"${key}" must be a whole number from 0 to ${max}, not ${JSON.stringify(v)}`;
  }
  return undefined;
}

/** The page a valid request names: offset 0 and limit 50 unless given; limit 0 lists nothing. */
export function pageOf(page: PageRequest | undefined): { offset: number; limit: number } {
  return { offset: page?.offset ?? 0, limit: page?.limit ?? 50 };
}

export const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;
