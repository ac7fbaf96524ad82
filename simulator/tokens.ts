/** Approximate token counting for the `usage` block. */

/** Tokens one image part costs, like a 336px CLIP-ViT-L/14 grid. */
export const IMAGE_TOKENS = 576;

/** Counts words and punctuation marks; close enough to a BPE count for usage reporting. */
export function countTokens(text: string): number {
  return text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu)?.length ?? 0;
}

/** The first `limit` tokens of a text, keeping its original spacing. */
export function truncateTokens(text: string, limit: number): string {
  if (limit <= 0) return '';
  const pattern = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;
  let seen = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    seen += 1;
    if (seen === limit) return text.slice(0, match.index + match[0].length);
  }
  return text;
}
