/**
 * The special-words filter: finds refusal and hedge phrases in an answer, insensitive to case,
 * spacing and typographic quotes, and names the phrase that matched.
 */

export function normalizeForMatch(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201A\u201B\u2032\u0060\u00B4]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\bas an al\b/g, 'as an ai');
}

export interface SpecialWordsFilter {
  /** The phrase (as written in the list) found in the text, or undefined. */
  match(text: string): string | undefined;
}

export function createSpecialWordsFilter(phrases: readonly string[]): SpecialWordsFilter {
  // A phrase matches only as whole words: "I cannot" must not match inside "an AI cannot".
  const prepared = phrases.map((p) => ({
    phrase: p,
    pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(normalizeForMatch(p))}(?![\\p{L}\\p{N}])`, 'u'),
  }));
  return {
    match(text) {
      const hay = normalizeForMatch(text);
      return prepared.find((p) => p.pattern.test(hay))?.phrase;
    },
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
