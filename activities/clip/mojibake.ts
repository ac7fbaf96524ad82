/**
 * ftfy's `fix_encoding`: finds text that was encoded in UTF-8 and decoded with a single-byte
 * codec (mojibake such as `cafÃ©`), and decodes it again correctly. Same steps, tables and
 * heuristics as ftfy 6.3: the "badness" pattern decides whether text looks like mojibake; each
 * codec that can represent the text is tried in ftfy's order; lost bytes and non-breaking spaces
 * turned into plain spaces are restored first; CESU-8 and Java's encoded NUL are accepted.
 */
import tables from './text-clean-tables.json';

// The pattern comes from ftfy with Python's `\s` and `.` already spelled out; Python's `\w` means
// letters, digits and `_` of any script, which JavaScript's `\w` does not.
const BADNESS = new RegExp(tables.badness.replace(/\\w/g, '[\\p{L}\\p{N}_]'), 'u');
const UTF8_DETECTOR = new RegExp(tables.utf8Detector, 'gu');
// Byte patterns run over bytes held as Latin-1 characters (one character per byte).
const ALTERED_UTF8 = new RegExp(tables.alteredUtf8, 'g');
const LOSSY_UTF8 = new RegExp(tables.lossyUtf8, 'g');
/** "Ã " that stands for "à " (a French or Portuguese word), except in a few Portuguese words. */
const A_GRAVE_WORD = new RegExp(tables.aGraveWord, 'g');
const C1_CONTROL = /[\x80-\x9f]/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const REPLACEMENT_UTF8 = '\xef\xbf\xbd';

interface Codec {
  name: string;
  /** Matches text every character of which the codec can encode. */
  possible: RegExp;
  encode: Map<string, number>;
}

const CODECS: Codec[] = Object.entries(tables.encodings).map(([name, decoded]) => {
  const chars = Array.from(decoded);
  const encode = new Map<string, number>();
  chars.forEach((ch, byte) => {
    if (!encode.has(ch)) encode.set(ch, byte);
  });
  const extra = [...chars.slice(0x80), chars[0x1a] as string].map(
    (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`,
  );
  return { name, possible: new RegExp(`^[\\x00-\\x19\\x1b-\\x7f${extra.join('')}]*$`, 'u'), encode };
});
const windows1252 = Array.from(tables.windows1252);

/** True when ftfy's heuristic sees mojibake in `text`. */
export function isBad(text: string): boolean {
  return BADNESS.test(text);
}

/** Encodes `text` (which `codec.possible` accepts) to bytes held as a Latin-1 string. */
function encode(text: string, codec: Codec): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    const byte = code < 0x80 && code !== 0x1a ? code : codec.encode.get(ch);
    out += String.fromCharCode(byte as number);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const decodeUtf8 = (bytes: string): string => utf8.decode(Buffer.from(bytes, 'latin1'));

/** ftfy's "utf-8-variants": UTF-8 that may also hold CESU-8 surrogate pairs and `C0 80` for NUL. */
function decodeUtf8Variants(bytes: string): string {
  const b = Buffer.from(bytes, 'latin1');
  let out = '';
  let run = 0;
  const flush = (end: number): void => {
    if (end > run) out += utf8.decode(b.subarray(run, end));
  };
  for (let i = 0; i < b.length;) {
    const x = b[i] as number;
    const next = b[i + 1];
    if (x === 0xc0 && (next === undefined || next === 0x80)) {
      flush(i);
      if (next === undefined) throw new TypeError('truncated C0 80');
      out += '\u0000';
      i += 2;
      run = i;
    } else if (x === 0xed && (next === undefined || (next >= 0xa0 && next <= 0xbf))) {
      flush(i);
      const [b1, b2, b3, b4, b5] = [next, b[i + 2], b[i + 3], b[i + 4], b[i + 5]] as number[];
      const cesu =
        i + 6 <= b.length &&
        (b1 as number) >= 0xa0 &&
        (b1 as number) <= 0xaf &&
        (b2 as number) >= 0x80 &&
        (b2 as number) <= 0xbf &&
        b3 === 0xed &&
        (b4 as number) >= 0xb0 &&
        (b4 as number) <= 0xbf &&
        (b5 as number) >= 0x80 &&
        (b5 as number) <= 0xbf;
      if (!cesu) throw new TypeError('lone surrogate in UTF-8');
      const code =
        (((b1 as number) & 0x0f) << 16) +
        (((b2 as number) & 0x3f) << 10) +
        (((b4 as number) & 0x0f) << 6) +
        ((b5 as number) & 0x3f) +
        0x10000;
      out += String.fromCodePoint(code);
      i += 6;
      run = i;
    } else {
      i += 1;
    }
  }
  flush(b.length);
  return out;
}

/** ftfy's `decode_inconsistent_utf8`: repairs mojibake runs embedded in otherwise good text. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR, (sub: string) =>
    sub.length < text.length && isBad(sub) ? fixEncoding(sub) : sub,
  );
}

/** One step of ftfy's repair; returns the text unchanged when there is nothing to do. */
function fixOneStep(text: string): string {
  if (text.length === 0 || ASCII_ONLY.test(text) || !isBad(text)) return text;
  const possible: string[] = [];
  for (const codec of CODECS) {
    if (!codec.possible.test(text)) continue;
    possible.push(codec.name);
    let bytes = encode(text, codec);
    if (codec.name !== 'macroman' && new RegExp(ALTERED_UTF8.source).test(bytes)) {
      bytes = bytes.replace(A_GRAVE_WORD, '\xc3\xa0 ').replace(ALTERED_UTF8, (m) => m.replace(/ /g, '\xa0'));
    }
    if (codec.name.startsWith('sloppy')) bytes = bytes.replace(LOSSY_UTF8, REPLACEMENT_UTF8);
    try {
      return bytes.includes('\xed') || bytes.includes('\xc0') ? decodeUtf8Variants(bytes) : decodeUtf8(bytes);
    } catch {
      // Not UTF-8 through this codec: try the next one.
    }
  }
  if (new RegExp(UTF8_DETECTOR.source, 'u').test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  if (possible.includes('latin-1')) {
    // ftfy compares against the name "windows-1252", which its list never holds, so this always runs.
    const chars = Array.from(text).map((ch) => windows1252[ch.codePointAt(0) as number] as string);
    if (!chars.includes('\ufffd')) {
      const fixed = chars.join('');
      if (fixed !== text) return fixed;
    }
  }
  if (C1_CONTROL.test(text))
    return text.replace(/[\x80-\x9f]/g, (ch) => tables.c1[String(ch.charCodeAt(0)) as keyof typeof tables.c1]);
  return text;
}

/** ftfy's `fix_encoding`: repeats the repair until the text no longer changes. */
export function fixEncoding(text: string): string {
  for (let t = text; ;) {
    const fixed = fixOneStep(t);
    if (fixed === t) return t;
    t = fixed;
  }
}
