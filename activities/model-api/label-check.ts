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
  /** The image's size: a localization box must lie inside it. */
  image?: { width: number | null; height: number | null },
): string | undefined {
  const text = normalizeForMatch(answer);
  if (task === 'coarse') {
    const said = statedAuthenticity(answer);
    if (cls.attack ? !said.spoof : said.spoof) return 'coarse_answer_contradicts_label';
    return undefined;
  }
  if (task === 'reasoning') {
    // The answer judges attributes, then concludes; its conclusion must be the label's.
    const said = statedAuthenticity(conclusionOf(answer));
    if (cls.attack ? !said.spoof : said.spoof || !said.real) return 'reasoning_conclusion_contradicts_label';
    return undefined;
  }
  if (task === 'pretrain') {
    // A description need not judge, but one that calls the face the opposite of its label is wrong.
    const said = statedAuthenticity(answer);
    if (cls.attack ? said.real && !said.spoof : said.spoof && !said.real)
      return 'pretrain_description_contradicts_label';
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
    if (!insideImage(found, image)) return 'localization_box_outside_image';
    return iou(found, box) >= minIou ? undefined : 'localization_box_mismatch';
  }
  return undefined;
}

/** The last sentence that concludes ("conclude", "therefore", …), or the last sentence. */
export function conclusionOf(answer: string): string {
  const sentences = answer.split(/(?<=[.!?])\s+/).filter((s) => s.trim());
  const concluding = sentences.filter((s) => /\b(?:conclu\w*|therefore|thus|hence|overall|in summary)\b/i.test(s));
  return concluding[concluding.length - 1] ?? sentences[sentences.length - 1] ?? answer;
}

/** A box lies inside the image when its corners are ordered and within [0, width] × [0, height]. */
export function insideImage(b: Box, image?: { width: number | null; height: number | null }): boolean {
  if (!(b[0] >= 0 && b[1] >= 0 && b[2] > b[0] && b[3] > b[1])) return false;
  if (!image?.width || !image.height) return true;
  return b[2] <= image.width && b[3] <= image.height;
}

/** What a label-check reason means, worded for the model when the answer is re-asked. */
export function describeMismatch(reason: string, cls: TaxonomyClass, box?: Box | null): string {
  const label = cls.attack ? `a spoof face (${cls.name})` : 'a real (bona fide) face';
  const boxText = box ? `[${box.join(', ')}]` : 'the given box';
  const says: Record<string, string> = {
    answer_refuses: 'the answer refuses or hedges instead of giving a definite judgment',
    coarse_answer_contradicts_label: `the answer's real-or-spoof verdict contradicts the picture, which shows ${label}`,
    reasoning_conclusion_contradicts_label: `the answer's conclusion contradicts the picture, which shows ${label}`,
    pretrain_description_contradicts_label: `the description contradicts the picture, which shows ${label}`,
    fine_answer_names_an_attack: `the answer names an attack, but the picture shows ${label}`,
    fine_answer_names_another_class: `the answer names the wrong attack type; the picture shows ${label}`,
    fine_answer_names_no_class: `the answer names no attack type; the picture shows ${label}`,
    localization_answer_has_no_box: `the answer gives no box; the spoof region is at ${boxText}`,
    localization_box_outside_image: `the answer's box lies outside the image; the spoof region is at ${boxText}`,
    localization_box_mismatch: `the answer's box does not match the spoof region at ${boxText}`,
  };
  return says[reason] ?? `the answer disagrees with the picture's label (${reason})`;
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
