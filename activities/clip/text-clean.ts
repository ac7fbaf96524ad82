/**
 * CLIP's text clean-up as open_clip's `SimpleTokenizer` (clean="lower") applies it: ftfy's
 * `fix_text`, Python's `html.unescape` twice, whitespace runs joined by one space, lower case.
 *
 * The character tables come from the reference libraries (see scripts/clip-golden/make-clean-tables.py),
 * so entity names, C1 controls, widths and control characters are replaced exactly as there;
 * mojibake is repaired as ftfy repairs it (`mojibake.ts`).
 */
import { fixEncoding } from './mojibake';
import tables from './text-clean-tables.json';

const html5 = new Map<string, string>(Object.entries(tables.html5));
const ftfyEntities = new Map<string, string>([
  ...Object.entries(tables.html5)
    .filter(([name]) => name.endsWith(';'))
    .map(([name, value]): [string, string] => [`&${name}`, value]),
  ...Object.entries(tables.ftfyUpperEntities),
]);
const invalidCharrefs = new Map<number, string>(Object.entries(tables.invalidCharrefs).map(([k, v]) => [Number(k), v]));
const invalidCodepoints = new Set<number>(tables.invalidCodepoints);
const c1 = new Map<string, string>(Object.entries(tables.c1).map(([k, v]) => [String.fromCharCode(Number(k)), v]));
const ligatures = new Map<string, string>(
  Object.entries(tables.ligatures).map(([k, v]) => [String.fromCodePoint(Number(k)), v]),
);
const widths = new Map<string, string>(
  Object.entries(tables.width).map(([k, v]) => [String.fromCodePoint(Number(k)), v]),
);
const controlChars = new Set<string>(tables.controlChars.map((c) => String.fromCodePoint(c)));

const charClass = (codes: readonly number[]): string => codes.map((c) => `\\u{${c.toString(16)}}`).join('');
/** Python's `str.isspace()` set, used by `str.strip()` and `str.split()`. */
const WHITESPACE_RUN = new RegExp(`[${charClass(tables.whitespace)}]+`, 'gu');
const CONTROL_CHAR = new RegExp(`[${charClass(tables.controlChars)}]`, 'gu');

// Python's html module: `&` then a numeric reference or up to 32 name characters, `;` optional.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
// ftfy's entity pattern: only references closed by `;`.
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
// Python's `\d` in a str pattern matches every Unicode decimal digit.
const ANSI_ESCAPE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
const C1_CONTROL = /[\x80-\x9f]/g;
const LIGATURE = new RegExp(`[${charClass([...ligatures.keys()].map((ch) => ch.codePointAt(0) as number))}]`, 'gu');
const WIDE = new RegExp(`[${charClass([...widths.keys()].map((ch) => ch.codePointAt(0) as number))}]`, 'gu');
const SINGLE_QUOTE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE = /[\u201c-\u201f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Python's `html.unescape`: every HTML5 named and numeric character reference. */
export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (_whole, ref: string) => {
    if (ref.startsWith('#')) {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
      const num = Number.parseInt(digits, hex ? 16 : 10);
      const replaced = invalidCharrefs.get(num);
      if (replaced !== undefined) return replaced;
      if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
      if (invalidCodepoints.has(num)) return '';
      return String.fromCodePoint(num);
    }
    const exact = html5.get(ref);
    if (exact !== undefined) return exact;
    // The longest known name the reference starts with (HTML5 allows some without `;`).
    for (let x = ref.length - 1; x > 1; x--) {
      const prefix = html5.get(ref.slice(0, x));
      if (prefix !== undefined) return prefix + ref.slice(x);
    }
    return `&${ref}`;
  });
}

/** ftfy's `unescape_html`: only references closed by `;`, plus some upper-cased names. */
function ftfyUnescape(text: string): string {
  return text.replace(FTFY_ENTITY, (ref) => {
    const known = ftfyEntities.get(ref);
    if (known !== undefined) return known;
    if (ref.startsWith('&#')) {
      const unescaped = unescapeHtml(ref);
      return unescaped.includes(';') ? ref : unescaped;
    }
    return ref;
  });
}

/** One pass of ftfy's fixes, in its order. */
function fixOnce(text: string, unescape: boolean): string {
  let t = unescape ? ftfyUnescape(text) : text;
  t = fixEncoding(t);
  t = t.replace(C1_CONTROL, (ch) => c1.get(ch) ?? ch);
  t = t.replace(LIGATURE, (ch) => ligatures.get(ch) ?? ch);
  t = t.replace(WIDE, (ch) => widths.get(ch) ?? ch);
  t = t.replace(DOUBLE_QUOTE, '"').replace(SINGLE_QUOTE, "'");
  t = t.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
  t = t.replace(LONE_SURROGATE, '\ufffd');
  t = t.replace(ANSI_ESCAPE, '');
  t = t.replace(CONTROL_CHAR, (ch) => (controlChars.has(ch) ? '' : ch));
  return t.normalize('NFC');
}

/**
 * ftfy's `fix_text` with its default settings: line by line, each line fixed until it no longer
 * changes. HTML is unescaped only until a line containing `<` is met (that line and the rest are
 * taken to be HTML source and left as written).
 */
export function fixText(text: string): string {
  const out: string[] = [];
  let unescape = true;
  let pos = 0;
  while (pos < text.length) {
    const br = text.indexOf('\n', pos);
    const end = br === -1 ? text.length : br + 1;
    let segment = text.slice(pos, end);
    if (unescape && segment.includes('<')) unescape = false;
    for (;;) {
      const fixed = fixOnce(segment, unescape);
      if (fixed === segment) break;
      segment = fixed;
    }
    out.push(segment);
    pos = end;
  }
  return out.join('');
}

/** open_clip's `_clean_lower`: ftfy, HTML unescaped twice, whitespace runs to one space, trimmed, lower case. */
export function cleanText(text: string): string {
  const basic = unescapeHtml(unescapeHtml(fixText(text)));
  return basic.replace(WHITESPACE_RUN, ' ').replace(/^ | $/g, '').toLowerCase();
}
