import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { ClipTokenizer, ClipVocabularyError, cleanText } from '../../../activities/clip';

const MODEL_DIR = path.resolve(__dirname, '../../../models/tiny-clip-standin');
const VOCAB = path.join(MODEL_DIR, 'bpe_vocab.txt.gz');

interface GoldenCase {
  text: string;
  ids: number[];
  context: number[];
}
interface Golden {
  vocabSize: number;
  sot: number;
  eot: number;
  contextLength: number;
  cases: GoldenCase[];
}

const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/tokens.golden.json'), 'utf8')) as Golden;

describe('ClipTokenizer', () => {
  const tokenizer = ClipTokenizer.fromFileSync(VOCAB);

  it('builds a vocabulary of 512 byte tokens, the merges and two markers', () => {
    const merges = gunzipSync(readFileSync(VOCAB)).toString('utf8').split('\n').length - 1;
    expect(tokenizer.mergeCount).toBe(merges);
    expect(tokenizer.vocabSize).toBe(512 + merges + 2);
    expect(tokenizer.vocabSize).toBe(golden.vocabSize);
    expect(tokenizer.startToken).toBe(golden.sot);
    expect(tokenizer.endToken).toBe(golden.eot);
  });

  it('starts each row with the start token, follows the text with the end token and pads with zeros', () => {
    const rows = tokenizer.tokenize(['a photo of a face', 'spoof'], 77);
    expect(rows).toBeInstanceOf(BigInt64Array);
    expect(rows.length).toBe(2 * 77);
    const first = Array.from(rows.subarray(0, 77), Number);
    const ids = tokenizer.encode('a photo of a face');
    expect(first.slice(0, ids.length + 2)).toEqual([tokenizer.startToken, ...ids, tokenizer.endToken]);
    expect(first.slice(ids.length + 2).every((id) => id === 0)).toBe(true);
    expect(Number(rows[77])).toBe(tokenizer.startToken);
  });

  it('lower-cases text before encoding it', () => {
    expect(tokenizer.encode('A PHOTO Of A Face')).toEqual(tokenizer.encode('a photo of a face'));
  });

  it('collapses whitespace runs and trims the text', () => {
    expect(tokenizer.encode('  a \t photo\n\n of   a face  ')).toEqual(tokenizer.encode('a photo of a face'));
    expect(cleanText('  a \u00a0 b\r\nc  ')).toBe('a b c');
  });

  it('unescapes HTML entities and straightens curly quotes as CLIP clean-up does', () => {
    expect(cleanText('Tom &amp; Jerry &lt;3 &#233;t&#xE9;')).toBe('tom & jerry <3 été');
    expect(cleanText('the person\u2019s \u201cface\u201d')).toBe('the person\'s "face"');
    expect(cleanText('&amp;amp;')).toBe('&');
  });

  it('truncates a text far beyond 77 tokens and keeps the end token last', () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const row = Array.from(tokenizer.tokenize([long], 77), Number);
    expect(tokenizer.encode(long).length).toBeGreaterThan(200);
    expect(row).toHaveLength(77);
    expect(row[0]).toBe(tokenizer.startToken);
    expect(row[76]).toBe(tokenizer.endToken);
    expect(row.slice(1, 76)).toEqual(tokenizer.encode(long).slice(0, 75));
  });

  it('round-trips a word through its merges', () => {
    const ids = tokenizer.encode('photograph');
    expect(ids.length).toBeLessThan('photograph'.length);
    expect(tokenizer.decode(ids)).toBe('photograph');
    expect(tokenizer.decode(tokenizer.encode('Naïve café, 12 faces! 😀'))).toBe('naïve café , 1 2 faces ! 😀');
  });

  it("treats the start and end markers in text as special tokens, under open_clip's names", () => {
    expect(tokenizer.encode('<start_of_text>x<END_OF_TEXT>')).toEqual([
      tokenizer.startToken,
      ...tokenizer.encode('x'),
      tokenizer.endToken,
    ]);
    // open_clip does not know OpenAI's marker spelling; it is ordinary punctuation and letters there.
    expect(tokenizer.encode('<|endoftext|>')).not.toContain(tokenizer.endToken);
  });

  describe('matches the independent Python reference tokenizer', () => {
    it('covers about thirty varied strings', () => {
      expect(golden.cases.length).toBeGreaterThanOrEqual(30);
    });

    it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))(
      'encodes %s as the reference does',
      (_label, c) => {
        expect(tokenizer.encode(c.text)).toEqual(c.ids);
        expect(Array.from(tokenizer.tokenize([c.text], golden.contextLength), Number)).toEqual(c.context);
      },
    );
  });

  it('reads at most the requested number of merges from a longer file', () => {
    const text = ['#version: 0.2', 'a b', 'ab c', 'x y'].join('\n');
    const all = ClipTokenizer.fromVocabText(text);
    expect(all.vocabSize).toBe(512 + 3 + 2);
    expect(all.decode(all.encode('abcd'))).toBe('abcd');
    expect(all.encode('abcd')).toHaveLength(2); // "abc" + "d</w>"
    const one = ClipTokenizer.fromVocabText(text, { maxMerges: 1 });
    expect(one.vocabSize).toBe(512 + 1 + 2);
    expect(one.encode('abcd')).toHaveLength(3); // "ab" + "c" + "d</w>"
  });

  it('rejects a vocabulary line that is not a merge', () => {
    expect(() => ClipTokenizer.fromVocabText('#version: 0.2\na b\nnot-a-merge\n')).toThrow(ClipVocabularyError);
    expect(() => ClipTokenizer.fromVocabText('#version: 0.2\n')).toThrow(/no merges/);
  });

  it('rejects a context length too short for the two markers', () => {
    expect(() => tokenizer.tokenize(['x'], 1)).toThrow(RangeError);
  });
});
