/**
 * CLIP's byte-level BPE tokenizer, reading a merge file in the format of CLIP's
 * `bpe_simple_vocab_16e6.txt.gz` (gzip; first line a header, then one `a b` merge per line).
 *
 * The vocabulary is built as CLIP builds it: the 256 byte characters, the same with `</w>`
 * appended, one token per merge, then the markers under open_clip's names, `<start_of_text>` and
 * `<end_of_text>`. Text is cleaned as open_clip's `SimpleTokenizer` cleans it (`text-clean.ts`).
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { cleanText } from './text-clean';

/** Start-of-text marker as open_clip names it; its id is `vocabSize - 2`. */
export const START_OF_TEXT = '<start_of_text>';
/** End-of-text marker as open_clip names it; its id is `vocabSize - 1`. */
export const END_OF_TEXT = '<end_of_text>';
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

/** CLIP's pre-tokenising pattern (case-insensitive, Unicode); the markers in text are kept whole. */
const PRETOKENIZE =
  /<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;

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
  /** Id of `<start_of_text>`. */
  readonly startToken: number;
  /** Id of `<end_of_text>`. */
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
      for (let i = 0; i < word.length;) {
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
