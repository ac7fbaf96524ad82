/**
 * The special-words filter: finds refusal and hedge phrases in a question or an answer,
 * insensitive to case, spacing (runs of whitespace, line breaks, zero-width spaces, spaces around
 * punctuation, "can not" for "cannot") and typographic quotes, and names the phrase that matched.
 */

/** Folds case, typographic quotes, Unicode compatibility forms and whitespace. */
export function normalizeForMatch(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
    .replace(/[\u2018\u2019\u201A\u201B\u2032\u0060\u00B4]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\bas an al\b/g, 'as an ai');
}

/**
 * The filter's own, stricter folding on top of `normalizeForMatch`: no space before a comma or
 * other mark, one space after it, and "can not" read as "cannot", so "As an AI ,I can not" and
 * "as an AI, I cannot" are the same text.
 */
export function foldForPhrases(text: string): string {
  return normalizeForMatch(text)
    .replace(/ ?([,;:!?]) ?/g, '$1 ')
    .replace(/\bcan not\b/g, 'cannot')
    .trim();
}

export interface SpecialWordsMatch {
  /** The phrase as written in the list. */
  phrase: string;
  /** Which part of the pair held it. */
  field: 'question' | 'answer';
}

export interface SpecialWordsFilter {
  /** The phrase (as written in the list) found in the text, or undefined. */
  match(text: string): string | undefined;
  /** The first listed phrase found in the answer, then in the question. */
  matchPair(pair: { question?: string | null; answer?: string | null }): SpecialWordsMatch | undefined;
}

export function createSpecialWordsFilter(phrases: readonly string[]): SpecialWordsFilter {
  // A phrase matches only as whole words: "I cannot" must not match inside "an AI cannot".
  const prepared = phrases.map((p) => ({
    phrase: p,
    pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(foldForPhrases(p))}(?![\\p{L}\\p{N}])`, 'u'),
  }));
  const match = (text: string) => {
    const hay = foldForPhrases(text);
    return prepared.find((p) => p.pattern.test(hay))?.phrase;
  };
  return {
    match,
    matchPair(pair) {
      // Each field on its own, so a phrase is never stitched together across the two.
      for (const field of ['answer', 'question'] as const) {
        const phrase = match(pair[field] ?? '');
        if (phrase) return { phrase, field };
      }
      return undefined;
    },
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
