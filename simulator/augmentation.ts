/**
 * Answers augmentation prompts: two paraphrases of the given pair that keep its meaning, its
 * quoted attribute names and any `[x1, y1, x2, y2]` box verbatim.
 */
import { BOX_PATTERN, classifyQuestion, statedAuthenticity } from './answer-analysis';
import { QUESTIONS, REFUSALS, type AnswerMode } from './generation';
import type { QaPair } from './prompt-parser';
import type { Prng } from './prng';

const PRETRAIN_PARAPHRASES: readonly string[] = [
  'Describe what the image shows.',
  'What is shown in this picture?',
  'Describe the whole picture, including the face.',
];

/** Word swaps applied outside protected spans; each variant uses a different table. */
const SWAPS: ReadonlyArray<Readonly<Record<string, string>>> = [
  {
    image: 'picture',
    picture: 'image',
    shows: 'depicts',
    depicts: 'shows',
    indicates: 'suggests',
    suggests: 'indicates',
    clearly: 'evidently',
    precisely: 'exactly',
  },
  {
    image: 'photo',
    picture: 'photo',
    shows: 'displays',
    indicated: 'shown',
    located: 'situated',
    appears: 'is visible',
    consistent: 'in line',
    natural: 'lifelike',
    deceive: 'fool',
  },
];

const OPENERS: readonly string[] = ['In short, ', 'To put it another way, ', 'Looking closely, ', 'Put simply, '];

/** Splits text into free and protected (quoted names, boxes) spans. */
function spans(text: string): Array<{ text: string; protect: boolean }> {
  const protectedPattern = new RegExp(`"[^"]*"|${BOX_PATTERN.source}`, 'g');
  const out: Array<{ text: string; protect: boolean }> = [];
  let last = 0;
  for (const match of text.matchAll(protectedPattern)) {
    const at = match.index ?? 0;
    if (at > last) out.push({ text: text.slice(last, at), protect: false });
    out.push({ text: match[0], protect: true });
    last = at + match[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), protect: false });
  return out;
}

function swapWords(text: string, table: Readonly<Record<string, string>>): string {
  const words = Object.keys(table).join('|');
  return spans(text)
    .map((span) =>
      span.protect
        ? span.text
        : span.text.replace(new RegExp(`\\b(${words})\\b`, 'gi'), (word: string) => {
            const replacement = table[word.toLowerCase()] ?? word;
            return word[0] === word[0]?.toUpperCase()
              ? replacement.charAt(0).toUpperCase() + replacement.slice(1)
              : replacement;
          }),
    )
    .join('');
}

function withOpener(answer: string, opener: string): string {
  const first = answer.match(/^(The|This|There|It|According|Analyzing|A|An|No)\b/);
  return first ? `${opener}${answer.charAt(0).toLowerCase()}${answer.slice(1)}` : `${opener}${answer}`;
}

function paraphraseQuestion(question: string, prng: Prng, exclude: readonly string[]): string[] {
  const task = classifyQuestion(question);
  const bank = task === 'pretrain' ? PRETRAIN_PARAPHRASES : task ? QUESTIONS[task] : [];
  const pool = bank.filter((q) => q !== question && !exclude.includes(q));
  const picked = prng.sample(pool, 2);
  while (picked.length < 2) {
    const base = question.replace(/\?\s*$/, '');
    picked.push(
      picked.length === 0
        ? `Could you tell me: ${base.charAt(0).toLowerCase()}${base.slice(1)}?`
        : `Please answer this: ${question}`,
    );
  }
  return picked;
}

function oppositeAnswer(answer: string): string {
  return statedAuthenticity(answer) === 'real'
    ? 'The image is a spoof face produced by a presentation attack instrument.'
    : 'The face in this picture is real, with no sign of a presentation attack.';
}

/** Two paraphrased pairs of a pair; `mode` injects a refusal or a contradiction into one of them. */
export function augmentPair(pair: QaPair, mode: AnswerMode, prng: Prng): QaPair[] {
  const questions = paraphraseQuestion(pair.question, prng, []);
  const openers = prng.sample(OPENERS, 2);
  const pairs = questions.map((question, i) => {
    const swapped = swapWords(pair.answer, SWAPS[i % SWAPS.length] ?? {});
    const answer = i === 1 || swapped === pair.answer ? withOpener(swapped, openers[i] ?? 'In short, ') : swapped;
    return { question, answer };
  });
  const victim = prng.int(pairs.length);
  const target = pairs[victim];
  if (target && mode === 'refusal') target.answer = prng.pick(REFUSALS);
  if (target && mode === 'contradiction') target.answer = oppositeAnswer(pair.answer);
  return pairs;
}
