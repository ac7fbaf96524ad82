/**
 * Reading answers the way a careful reviewer would: does it refuse, which authenticity does it
 * state, which attack classes does it name, does it give a box. Shared by the judge and augmenter.
 */
import { ATTACK_CLASSES, type AttackClass, type TaskName } from './knowledge';

/** Matches one `[x1, y1, x2, y2]` box with integer or decimal corners. */
export const BOX_PATTERN =
  /\[\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*\]/g;

const REFUSAL_PATTERNS: readonly RegExp[] = [
  /\bas an ai\b/i,
  /\bai language model\b/i,
  /\bi (?:cannot|can't|can not|am unable to|am not able to)\b/i,
  /\bi'm (?:unable|not able) to\b/i,
  /\bi(?:'m| am) (?:sorry|afraid)\b/i,
  /\b(?:difficult|hard|impossible|not possible) to (?:determine|tell|say|judge|know)\b/i,
  /\bcannot be (?:determined|established|told)\b/i,
  /\bi do(?: not|n't) have the ability\b/i,
  /\bwithout (?:further|more|additional) (?:information|context)\b/i,
];

/** True when the text refuses or hedges instead of judging. */
export function isRefusal(text: string): boolean {
  return REFUSAL_PATTERNS.some((pattern) => pattern.test(text));
}

/** The raw box strings a text contains, in order. */
export function findBoxes(text: string): string[] {
  return text.match(BOX_PATTERN) ?? [];
}

/** Formats corners the way FaceShield does: `[92.0, 339.0, 352.0, 507.0]`. */
export function formatBox(corners: readonly number[]): string {
  return `[${corners.map((n) => (Number.isInteger(n) ? n.toFixed(1) : String(n))).join(', ')}]`;
}

/** Parses the corners of a box string. */
export function parseBox(box: string): number[] {
  return (box.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
}

const REAL = 'xrealx';
const SPOOF = 'xspoofx';
const REAL_WORDS = String.raw`real|genuine|live|bona ?fide|authentic|alive`;
const SPOOF_WORDS = String.raw`spoof\w*|fake\w*|forged|counterfeit|attack\w*|presentation attack instrument`;

/** Rewrites negations and "imitates a real ..." phrases into neutral or explicit markers. */
function normalise(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[\u2018\u2019]/g, "'")
      // "imitate a real person", "simulate the real eye": the word real does not describe this face.
      .replace(
        new RegExp(
          String.raw`\b(imitat\w*|simulat\w*|mimic\w*|resembl\w*|pretend\w*|look\w* like|pass(?:es)? for|as if it were|deceiv\w*)\s+(?:an? |the )?(?:${REAL_WORDS})\b`,
          'g',
        ),
        '$1',
      )
      .replace(
        new RegExp(
          String.raw`\b(?:not|never|isn't|is not|no longer)\s+(?:an? |the face of an? )?(?:${REAL_WORDS})\b`,
          'g',
        ),
        ` ${SPOOF} `,
      )
      .replace(
        new RegExp(String.raw`\b(?:not|isn't|never)\s+(?:an? |the result of an? )?(?:${SPOOF_WORDS})`, 'g'),
        ` ${REAL} `,
      )
      .replace(
        /\b(?:no|without(?: any)?|free of(?: any)?|absence of(?: any)?)\s+(?:signs?|evidence|traces?|indications?|hints?)?\s*(?:of\s+)?(?:an?\s+|any\s+)?(?:facial\s+|face\s+)?(?:presentation\s+)?(?:spoof\w*|attack\w*|attack instruments?|forgery)(?:\s+instruments?)?/g,
        ` ${REAL} `,
      )
  );
}

const VERDICT_TOKEN = new RegExp(String.raw`\b(${REAL}|${SPOOF}|${REAL_WORDS}|${SPOOF_WORDS})\b`, 'g');

function tokenVerdict(token: string): 'real' | 'spoof' {
  if (token === REAL) return 'real';
  if (token === SPOOF) return 'spoof';
  return new RegExp(String.raw`^(?:${REAL_WORDS})$`).test(token) ? 'real' : 'spoof';
}

/**
 * The authenticity an answer states: the verdict of its last explicit conclusion if it has one,
 * otherwise the majority of its real/spoof cues (first cue breaks ties); undefined when it states none.
 */
export function statedAuthenticity(text: string): 'real' | 'spoof' | undefined {
  const normal = normalise(text);
  const conclusions = [
    ...normal.matchAll(/\b(?:conclu\w*|therefore|thus|hence|overall|in summary|verdict)\b([^.;!?]*)/g),
  ];
  for (let i = conclusions.length - 1; i >= 0; i -= 1) {
    const tail = conclusions[i]?.[1] ?? '';
    const first = tail.match(new RegExp(VERDICT_TOKEN.source));
    if (first?.[1]) return tokenVerdict(first[1]);
  }
  const tokens = [...normal.matchAll(VERDICT_TOKEN)].map((m) => tokenVerdict(m[1] ?? ''));
  if (tokens.length === 0) return undefined;
  const real = tokens.filter((t) => t === 'real').length;
  const spoof = tokens.length - real;
  if (real !== spoof) return real > spoof ? 'real' : 'spoof';
  return tokens[0];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const CLASS_MATCHERS: ReadonlyArray<{ cls: AttackClass; pattern: RegExp }> = ATTACK_CLASSES.flatMap((cls) =>
  [cls.name, ...cls.synonyms].map((phrase) => ({ cls, phrase })),
)
  .sort((a, b) => b.phrase.length - a.phrase.length)
  .map(({ cls, phrase }) => ({ cls, pattern: new RegExp(String.raw`\b${escapeRegExp(phrase)}\b`, 'gi') }));

/** The attack classes a text names (by name or synonym, longest phrase first), in order of mention. */
export function namedAttackClasses(text: string): AttackClass[] {
  let rest = text;
  const found: Array<{ cls: AttackClass; at: number }> = [];
  for (const { cls, pattern } of CLASS_MATCHERS) {
    rest = rest.replace(pattern, (match: string, offset: number) => {
      found.push({ cls, at: offset });
      return ' '.repeat(match.length);
    });
  }
  const ordered = found.sort((a, b) => a.at - b.at).map((f) => f.cls);
  return ordered.filter((cls, i) => ordered.indexOf(cls) === i);
}

/** True when a text calls the face bona fide / live outright. */
export function saysBonaFide(text: string): boolean {
  return /\bbona ?fide\b/i.test(text) || statedAuthenticity(text) === 'real';
}

/** Guesses which FaceShield task a question asks for. */
export function classifyQuestion(question: string): TaskName | undefined {
  const q = question.toLowerCase();
  if (/\b(locat\w*|where|bounding box|box|region|area|coordinates|position)\b/.test(q)) return 'localization';
  if (/\b(why|explain\w*|reasons?|reasoning|attributes?|justify)\b/.test(q)) return 'reasoning';
  if (/\b(type|kind|category|categories|class)\b/.test(q)) return 'fine';
  if (/\b(real|fake|genuine|spoof\w*|authentic\w*|live|bona fide|bonafide|presentation attack)\b/.test(q))
    return 'coarse';
  if (/\b(depict\w*|describe\w*|description|shown|shows?|contents?|see)\b/.test(q)) return 'pretrain';
  return undefined;
}
