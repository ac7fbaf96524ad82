/**
 * The special-words filter over the real list in config/special-words.json. Every variant below is
 * generated from the list, so a phrase added to the list is covered without touching this file.
 */
import { loadAssets } from '../../../config/assets';
import {
  createSpecialWordsFilter,
  foldForPhrases,
  normalizeForMatch,
} from '../../../activities/model-api/special-words';
import { generatePair, REFUSALS } from '../../../simulator/generation';
import { CLASSES, TASK_NAMES } from '../../../simulator/knowledge';
import { Prng } from '../../../simulator/prng';

const { specialWords } = loadAssets();
const phrases = specialWords.phrases;
const filter = createSpecialWordsFilter(phrases);

/** Puts a phrase into an otherwise clean answer. */
const inAnswer = (phrase: string) => `Looking at the picture closely, ${phrase} say more about the face.`;
const mixedCase = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');

/** Every way of writing a phrase the filter must still recognise, by name. */
function variants(phrase: string): [string, string][] {
  const out: [string, string][] = [
    ['as written', phrase],
    ['upper case', phrase.toUpperCase()],
    ['lower case', phrase.toLowerCase()],
    ['mixed case', mixedCase(phrase)],
    ['title case', phrase.replace(/\b\w/g, (c) => c.toUpperCase())],
    ['extra spaces, tabs and newlines', phrase.replace(/ /g, ' \n  \t')],
    ['no-break spaces', phrase.replace(/ /g, '\u00A0')],
    ['zero-width spaces inside words', phrase.replace(/(\w)(\w)/, '$1\u200B$2')],
    ['a line break between every word', phrase.replace(/ /g, '\r\n')],
  ];
  if (/[,;:!?]/.test(phrase)) {
    out.push(['a space before each comma', phrase.replace(/([,;:!?])/g, ' $1')]);
    out.push(['no space after each comma', phrase.replace(/([,;:!?]) /g, '$1')]);
  }
  if (phrase.includes("'")) {
    out.push(['right single quotation marks', phrase.replace(/'/g, '\u2019')]);
    out.push(['left single quotation marks', phrase.replace(/'/g, '\u2018')]);
    out.push(['prime marks', phrase.replace(/'/g, '\u2032')]);
    out.push(['typographic quotes in upper case', phrase.replace(/'/g, '\u2019').toUpperCase()]);
  }
  if (/cannot/i.test(phrase)) out.push(['"can not" in two words', phrase.replace(/cannot/gi, 'can not')]);
  return out;
}

const cases = phrases.flatMap((phrase) => variants(phrase).map(([how, text]) => [phrase, how, text] as const));

describe('the special-words filter', () => {
  test("uses the versioned list, with the seed's three phrases", () => {
    expect(specialWords.version).toBe('special-words-v2');
    const folded = phrases.map(foldForPhrases);
    for (const seed of ['as an AI language model', 'It is difficult to determine', 'it is not possible to']) {
      expect(folded).toContain(foldForPhrases(seed));
    }
    expect(new Set(folded).size).toBe(folded.length);
  });

  test('generates at least nine variants of every phrase', () => {
    for (const p of phrases) expect(variants(p).length).toBeGreaterThanOrEqual(9);
  });

  test.each(cases)('matches "%s" written with %s', (phrase, _how, text) => {
    // A shorter phrase listed earlier may match first ("I cannot" inside "as an AI, I cannot" comes
    // later in the list, so the longer one wins); what matters is that some listed phrase whose
    // folded form is inside this phrase is reported.
    const found = filter.match(inAnswer(text));
    expect(found).toBeDefined();
    expect(foldForPhrases(phrase)).toContain(foldForPhrases(found!));
  });

  test.each(cases)('matches "%s" written with %s inside typographic double quotes', (phrase, _how, text) => {
    const found = filter.match(`The model replied \u201C${text}\u201D and stopped.`);
    expect(found).toBeDefined();
    expect(foldForPhrases(phrase)).toContain(foldForPhrases(found!));
  });

  test.each(phrases.map((p) => [p]))('reports "%s" itself when no earlier phrase lies inside it', (phrase) => {
    const earlier = phrases.slice(0, phrases.indexOf(phrase));
    const shadowed = earlier.some((e) => createSpecialWordsFilter([e]).match(phrase));
    expect(filter.match(inAnswer(phrase))).toBe(shadowed ? expect.any(String) : phrase);
  });

  test.each(phrases.map((p) => [p]))('finds "%s" in the question as well as the answer, and says which', (phrase) => {
    const clean = 'The face is real: natural skin texture and shading.';
    expect(filter.matchPair({ question: `Well, ${phrase} answer?`, answer: clean })).toMatchObject({
      field: 'question',
    });
    expect(filter.matchPair({ question: 'Is this face real?', answer: inAnswer(phrase) })).toMatchObject({
      field: 'answer',
    });
  });

  test('never stitches a phrase together from the end of the question and the start of the answer', () => {
    expect(
      filter.matchPair({ question: 'Tell me what I', answer: 'cannot see: the mask edges are hidden.' }),
    ).toBeUndefined();
  });

  test('matches the seed\'s "as an Al language model" written with a letter l', () => {
    expect(filter.match('As an Al language model, I would not guess.')).toBe('as an AI language model');
    expect(filter.match('AS AN AL LANGUAGE MODEL, no comment.')).toBe('as an AI language model');
    expect(filter.match('as an al language   model')).toBe('as an AI language model');
  });

  // Regression: the "as an al" rewrite once ran before whitespace was collapsed, so the letter-l
  // form was missed when its first words were separated by several spaces or a newline.
  test('matches the letter-l form with extra spaces or a newline inside "as an Al"', () => {
    expect(filter.match('As  an Al language model, I would not guess.')).toBe('as an AI language model');
    expect(filter.match('As an\nAl language model, I would not guess.')).toBe('as an AI language model');
  });

  test.each(REFUSALS.map((r) => [r]))('matches the simulator refusal "%s"', (refusal) => {
    expect(filter.match(refusal)).toBeDefined();
  });

  test('reports the phrase as written in the list, not normalised', () => {
    expect(filter.match('AS AN AI LANGUAGE MODEL I AM NOT SURE')).toBe('as an AI language model');
    expect(filter.match('i\u2019M SoRrY')).toBe("I'm sorry");
  });

  test('reports the first listed phrase when several match', () => {
    expect(phrases.indexOf('as an AI, I cannot')).toBeLessThan(phrases.indexOf('I cannot'));
    expect(filter.match('As an AI, I cannot judge this.')).toBe('as an AI, I cannot');
  });

  test.each([
    [
      'The face in this picture is real: the skin texture, the natural shading and the depth of the facial features are consistent with a live person.',
    ],
    ['This is a spoof face. The picture reveals a printed photograph of a face, so the face is fake.'],
    [
      'The spoofing region is precisely identified at [92.0, 339.0, 352.0, 507.0]. Here, a mask is placed to mimic human facial attributes.',
    ],
    [
      'According to the picture, the "Face Facial Lighting" is intense and creates an artificial glare, so the face is a spoof.',
    ],
    ['As an additional cue, the paper edges are visible at the bottom, so this is a Print Attack.'],
    ['The determination is clear: the face is bona fide and the lighting is natural.'],
    ['The mask cannot hide its rigid edges, which are clearly visible.'],
    [''],
  ])('does not match the clean answer "%s"', (answer) => {
    expect(filter.match(answer)).toBeUndefined();
  });

  test('matches none of 600 clean answers the simulator writes for every class and task', () => {
    const hits: string[] = [];
    for (const cls of CLASSES) {
      for (const task of TASK_NAMES) {
        for (let i = 0; i < 10; i++) {
          const pair = generatePair(
            {
              kind: 'construction',
              authenticity: cls.attack ? 'spoof' : 'real',
              className: cls.name,
              cls,
              questionType: task,
              task,
              box: task === 'localization' ? [10, 20, 110, 120] : undefined,
              attributes: [],
            },
            'normal',
            new Prng(`${cls.name}:${task}:${i}`, 'content'),
          );
          const m = filter.matchPair(pair);
          if (m) hits.push(`${m.phrase} in ${pair[m.field]}`);
        }
      }
    }
    expect(hits).toEqual([]);
  });

  test('does not match a phrase that starts inside another word ("an AI cannot")', () => {
    expect(filter.match('This is a crude print attack that even a simple AI cannot be fooled by.')).toBeUndefined();
  });
});

describe('normalizeForMatch', () => {
  test('folds case, typographic quotes, full-width letters and runs of whitespace', () => {
    expect(normalizeForMatch('  I\u2019m \u201CSORRY\u201D\n\n\tnow  ')).toBe('i\'m "sorry" now');
    expect(normalizeForMatch('\uFF29 cannot')).toBe('i cannot');
  });

  test('rewrites the letter-l "as an al" to "as an ai" only as whole words', () => {
    expect(normalizeForMatch('As an Al model')).toBe('as an ai model');
    expect(normalizeForMatch('as an alternative')).toBe('as an alternative');
  });

  test('foldForPhrases puts one space after a comma and none before it, and joins "can not"', () => {
    expect(foldForPhrases('As an AI ,I can not')).toBe('as an ai, i cannot');
  });
});
