/**
 * CLIP's byte-level BPE tokenizer, reading a merge file in the format of CLIP's
 * `bpe_simple_vocab_16e6.txt.gz` (gzip; first line a header, then one `a b` merge per line).
 *
 * The vocabulary is built as CLIP builds it: the 256 byte characters, the same with `</w>`
 * appended, one token per merge, then `<|startoftext|>` and `<|endoftext|>`.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Start-of-text marker; its id is `vocabSize - 2`. */
export const START_OF_TEXT = '<|startoftext|>';
/** End-of-text marker; its id is `vocabSize - 1`. */
export const END_OF_TEXT = '<|endoftext|>';
/** CLIP's context length. */
export const DEFAULT_CONTEXT_LENGTH = 77;
/** Number of merges CLIP uses from its vocabulary file (49152 - 256 - 2). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

const END_OF_WORD = '</w>';
const MAX_CACHE_ENTRIES = 100_000;

/** Error for a vocabulary file that cannot be read or parsed. */
export class ClipVocabularyError extends Error {
  override readonly name = 'ClipVocabularyError';
}

/**
 * GPT-2/CLIP's reversible table from bytes to printable characters. The returned array maps a
 * byte to its character; `order` lists the bytes in vocabulary order (printable ones first).
 */
export function bytesToUnicode(): { table: string[]; order: number[] } {
  const order: number[] = [];
  const range = (from: string, to: string): void => {
    for (let b = from.charCodeAt(0); b <= to.charCodeAt(0); b++) order.push(b);
  };
  range('!', '~');
  range('\u00a1', '\u00ac');
  range('\u00ae', '\u00ff');
  const table: string[] = new Array<string>(256);
  for (const b of order) table[b] = String.fromCharCode(b);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) {
      table[b] = String.fromCharCode(256 + extra);
      extra += 1;
      order.push(b);
    }
  }
  return { table, order };
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  ndash: '\u2013',
  mdash: '\u2014',
  hellip: '\u2026',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201c',
  rdquo: '\u201d',
  copy: '\u00a9',
  reg: '\u00ae',
  deg: '\u00b0',
  times: '\u00d7',
};

/** Replaces common named HTML entities and numeric references (`&#233;`, `&#xE9;`). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const hex = body[1] === 'x' || body[1] === 'X';
      const code = Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
      const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
      return valid ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

// Python's str.isspace() set, which CLIP's whitespace_clean (re's \s) collapses.
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;
// Control characters ftfy removes (tab, line feed, form feed and carriage return are kept).
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
const LATIN_LIGATURES: Readonly<Record<string, string>> = {
  '\u0132': 'IJ',
  '\u0133': 'ij',
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': '\u017ft',
  '\ufb06': 'st',
};

/**
 * The part of ftfy's `fix_text` that matters for generated descriptions, in ftfy's order:
 * HTML unescape, control characters removed, Latin ligatures and full-width ASCII replaced,
 * curly quotes straightened, NFC. (ftfy's mojibake repair is not attempted.)
 */
function fixText(text: string): string {
  let t = text.includes('<') ? text : unescapeHtml(text);
  t = t.replace(CONTROL_CHARS, '');
  t = t.replace(/[\u0132\u0133\ufb00-\ufb06]/g, (ch) => LATIN_LIGATURES[ch] ?? ch);
  t = t.replace(/[\uff01-\uff5e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
  t = t.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  return t.normalize('NFC');
}

/**
 * CLIP's text clean-up (`basic_clean`, `whitespace_clean`, then lower-case): an ftfy subset,
 * HTML unescaped twice, whitespace runs collapsed to one space, trimmed, lower-cased.
 */
export function cleanText(text: string): string {
  let t = unescapeHtml(unescapeHtml(fixText(text)));
  t = t.replace(PY_WHITESPACE, ' ').trim();
  return t.toLowerCase();
}

/** CLIP's pre-tokenising pattern (case-insensitive, Unicode). */
const PRETOKENIZE =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;

/** Options for building a {@link ClipTokenizer}. */
export interface ClipTokenizerOptions {
  /**
   * How many merges to read from the file at most. Defaults to CLIP's 48894, which is what the
   * real vocabulary file needs (it holds more lines than CLIP uses).
   */
  maxMerges?: number;
}

/** CLIP's byte-level BPE tokenizer. */
export class ClipTokenizer {
  /** Number of token ids (byte tokens, merges and the two markers). */
  readonly vocabSize: number;
  /** Id of `<|startoftext|>`. */
  readonly startToken: number;
  /** Id of `<|endoftext|>`. */
  readonly endToken: number;
  /** Number of merges in use. */
  readonly mergeCount: number;

  private readonly byteEncoder: string[];
  private readonly byteDecoder = new Map<string, number>();
  private readonly encoder = new Map<string, number>();
  private readonly decoder: string[];
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  private readonly utf8 = new TextEncoder();

  /**
   * @param merges merge rules in rank order, each as its two parts
   */
  constructor(merges: ReadonlyArray<readonly [string, string]>) {
    const { table, order } = bytesToUnicode();
    this.byteEncoder = table;
    table.forEach((ch, b) => this.byteDecoder.set(ch, b));
    const base = order.map((b) => table[b] as string);
    const vocab = [...base, ...base.map((ch) => ch + END_OF_WORD)];
    merges.forEach(([a, b], rank) => {
      this.ranks.set(`${a} ${b}`, rank);
      vocab.push(a + b);
    });
    vocab.push(START_OF_TEXT, END_OF_TEXT);
    // As in CLIP (a Python dict), a duplicated token keeps its last id.
    vocab.forEach((tok, id) => this.encoder.set(tok, id));
    this.decoder = vocab;
    this.vocabSize = vocab.length;
    this.startToken = vocab.length - 2;
    this.endToken = vocab.length - 1;
    this.mergeCount = merges.length;
    this.resetCache();
  }

  private resetCache(): void {
    this.cache.clear();
    this.cache.set(START_OF_TEXT, [START_OF_TEXT]);
    this.cache.set(END_OF_TEXT, [END_OF_TEXT]);
  }

  /** Parses the decompressed text of a CLIP vocabulary file (header line, then merges). */
  static fromVocabText(text: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const maxMerges = options.maxMerges ?? CLIP_MERGE_COUNT;
    const lines = text.split('\n');
    const merges: [string, string][] = [];
    for (let i = 1; i < lines.length && merges.length < maxMerges; i++) {
      const line = (lines[i] as string).replace(/\r$/, '');
      if (line === '') {
        if (lines.slice(i).every((l) => l.trim() === '')) break;
        throw new ClipVocabularyError(`vocabulary line ${i + 1} is empty`);
      }
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
        throw new ClipVocabularyError(`vocabulary line ${i + 1} is not a merge "a b": ${JSON.stringify(line)}`);
      }
      merges.push([parts[0] as string, parts[1] as string]);
    }
    if (merges.length === 0) throw new ClipVocabularyError('vocabulary file holds no merges');
    return new ClipTokenizer(merges);
  }

  /** Reads a gzip-compressed CLIP vocabulary file synchronously. */
  static fromFileSync(path: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    return ClipTokenizer.fromVocabText(decompress(readFileSync(path), path), options);
  }

  /** Reads a gzip-compressed CLIP vocabulary file. */
  static async fromFile(path: string, options: ClipTokenizerOptions = {}): Promise<ClipTokenizer> {
    return ClipTokenizer.fromVocabText(decompress(await readFile(path), path), options);
  }

  /** Encodes text to token ids, without start/end markers. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanText(text).matchAll(PRETOKENIZE)) {
      const piece = match[0];
      let chars = '';
      for (const byte of this.utf8.encode(piece)) chars += this.byteEncoder[byte] as string;
      for (const tok of this.bpe(chars)) {
        const id = this.encoder.get(tok);
        if (id === undefined) throw new ClipVocabularyError(`token ${JSON.stringify(tok)} is not in the vocabulary`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Decodes token ids back to text (word ends become spaces, markers are kept). */
  decode(ids: Iterable<number>): string {
    const bytes: number[] = [];
    const out: string[] = [];
    const flush = (): void => {
      if (bytes.length > 0) out.push(Buffer.from(bytes).toString('utf8'));
      bytes.length = 0;
    };
    for (const id of ids) {
      const tok = this.decoder[id];
      if (tok === undefined) throw new RangeError(`token id ${id} is outside the vocabulary`);
      if (tok === START_OF_TEXT || tok === END_OF_TEXT) {
        flush();
        out.push(tok);
        continue;
      }
      const word = tok.endsWith(END_OF_WORD) ? tok.slice(0, -END_OF_WORD.length) : tok;
      for (const ch of word) bytes.push(this.byteDecoder.get(ch) ?? 0x3f);
      if (word !== tok) {
        flush();
        out.push(' ');
      }
    }
    flush();
    return out.join('').trimEnd();
  }

  /**
   * Tokenizes texts into a `[texts.length, contextLength]` row-major array: start marker, ids,
   * end marker, zero padding. Longer texts are truncated keeping the end marker last
   * (open_clip's `truncate=True`).
   */
  tokenize(texts: readonly string[], contextLength: number = DEFAULT_CONTEXT_LENGTH): BigInt64Array {
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new RangeError(`contextLength must be an integer >= 2, got ${contextLength}`);
    }
    const out = new BigInt64Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const ids = [this.startToken, ...this.encode(text), this.endToken];
      if (ids.length > contextLength) {
        ids.length = contextLength;
        ids[contextLength - 1] = this.endToken;
      }
      const offset = row * contextLength;
      ids.forEach((id, i) => {
        out[offset + i] = BigInt(id);
      });
    });
    return out;
  }

  /** Applies the merges to one byte-encoded pre-token (CLIP's `bpe`), with a cache. */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    const chars = Array.from(token);
    let word = chars.slice(0, -1);
    word.push(`${chars[chars.length - 1] ?? ''}${END_OF_WORD}`);
    while (word.length > 1) {
      let best: string | undefined;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = `${word[i]} ${word[i + 1]}`;
        }
      }
      if (best === undefined) break;
      const [first, second] = best.split(' ') as [string, string];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i] as string);
          i += 1;
        }
      }
      word = merged;
    }
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.resetCache();
    this.cache.set(token, word);
    return word;
  }
}

function decompress(data: Buffer, path: string): string {
  try {
    return gunzipSync(data).toString('utf8');
  } catch (err) {
    throw new ClipVocabularyError(`cannot decompress vocabulary ${path}: ${(err as Error).message}`);
  }
}
