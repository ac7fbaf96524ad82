/**
 * Label consistency: a generated answer must agree with the ground truth it was made from.
 * Returns the reason an answer disagrees, or undefined when it agrees.
 */
import type { Taxonomy, TaxonomyClass } from '../../config/assets';
import type { Task } from '../../config/build-input';
import { normalizeForMatch } from './special-words';
import type { Box } from './prompts';

const SPOOF_WORD = String.raw`(?:spoof(?:ed|ing)?|fake|attack|forged|counterfeit|forgery)`;
const REAL_WORD = String.raw`(?:real|genuine|bona ?fide|live|authentic)`;
// "no sign of a presentation attack" affirms a real face; "not real" affirms a spoof.
const NEGATED_SPOOF = new RegExp(
  String.raw`\b(?:no|not|without|never|free of)\b(?:\s+[\w-]+){0,4}?\s+${SPOOF_WORD}\b`,
  'g',
);
const NEGATED_REAL = new RegExp(String.raw`\b(?:not|never|isn't|is not)\s+(?:a\s+|an\s+)?${REAL_WORD}\b`, 'g');
const SAYS_SPOOF = new RegExp(String.raw`\bspoofcue\b|\b${SPOOF_WORD}\b`);
const SAYS_REAL = new RegExp(String.raw`\brealcue\b|\b${REAL_WORD}\b`);

/** Which authenticity an answer asserts, with negations read as the opposite claim. */
export function statedAuthenticity(answer: string): { spoof: boolean; real: boolean } {
  const text = normalizeForMatch(answer).replace(NEGATED_REAL, ' spoofcue ').replace(NEGATED_SPOOF, ' realcue ');
  return { spoof: SAYS_SPOOF.test(text), real: SAYS_REAL.test(text) };
}

export function checkLabel(
  taxonomy: Taxonomy,
  task: Task,
  cls: TaxonomyClass,
  answer: string,
  box?: Box | null,
  minIou = 0.5,
): string | undefined {
  const text = normalizeForMatch(answer);
  if (task === 'coarse') {
    const said = statedAuthenticity(answer);
    if (cls.attack ? !said.spoof : said.spoof) return 'coarse_answer_contradicts_label';
    return undefined;
  }
  if (task === 'fine') {
    if (!cls.attack) return statedAuthenticity(answer).spoof ? 'fine_answer_names_an_attack' : undefined;
    const names = [cls.name, ...cls.synonyms].map(normalizeForMatch);
    if (names.some((n) => text.includes(n))) return undefined;
    const other = taxonomy.classes.find(
      (c) =>
        c.attack && c.name !== cls.name && [c.name, ...c.synonyms].some((n) => text.includes(normalizeForMatch(n))),
    );
    return other ? 'fine_answer_names_another_class' : 'fine_answer_names_no_class';
  }
  if (task === 'localization' && box) {
    const found = findBox(answer);
    if (!found) return 'localization_answer_has_no_box';
    return iou(found, box) >= minIou ? undefined : 'localization_box_mismatch';
  }
  return undefined;
}

export function findBox(text: string): Box | undefined {
  const m = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/.exec(
    text,
  );
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : undefined;
}

export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const area = (x: Box) => Math.max(0, x[2] - x[0]) * Math.max(0, x[3] - x[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}
