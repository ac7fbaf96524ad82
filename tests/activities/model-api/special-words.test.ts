/**
 * The special-words filter over the real list in config/special-words.json.
 */
import { loadAssets } from '../../../config/assets';
import { createSpecialWordsFilter, normalizeForMatch } from '../../../activities/model-api/special-words';
import { REFUSALS } from '../../../simulator/generation';

const { specialWords } = loadAssets();
const phrases = specialWords.phrases;
const filter = createSpecialWordsFilter(phrases);

/** Puts a phrase into an otherwise clean answer. */
const inAnswer = (phrase: string) => `Looking at the picture closely, ${phrase} say more about the face.`;
const mixedCase = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
const spaced = (s: string) => s.replace(/ /g, ' \n  \t');

const each = phrases.map((p) => [p]);

describe('the special-words filter', () => {
  test('uses the versioned list with at least one phrase', () => {
    expect(specialWords.version).toBe('special-words-v1');
    expect(phrases.length).toBeGreaterThan(0);
  });

  test.each(each)('matches "%s" as written and reports the phrase', (phrase) => {
    expect(filter.match(inAnswer(phrase))).toBe(phrase);
  });

  test.each(each)('matches "%s" in upper case', (phrase) => {
    expect(filter.match(inAnswer(phrase.toUpperCase()))).toBe(phrase);
  });

  test.each(each)('matches "%s" in lower case', (phrase) => {
    expect(filter.match(inAnswer(phrase.toLowerCase()))).toBe(phrase);
  });

  test.each(each)('matches "%s" in mixed case', (phrase) => {
    expect(filter.match(inAnswer(mixedCase(phrase)))).toBe(phrase);
  });

  test.each(each)('matches "%s" with extra spaces, tabs and newlines between its words', (phrase) => {
    expect(filter.match(inAnswer(spaced(phrase)))).toBe(phrase);
  });

  test.each(phrases.filter((p) => p.includes("'")).map((p) => [p]))(
    'matches "%s" written with typographic apostrophes',
    (phrase) => {
      expect(filter.match(inAnswer(phrase.replace(/'/g, '\u2019')))).toBe(phrase);
      expect(filter.match(inAnswer(phrase.replace(/'/g, '\u2018')))).toBe(phrase);
    },
  );

  test.each(each)('matches "%s" inside typographic quotes', (phrase) => {
    const typographic = phrase.replace(/'/g, '\u2019');
    expect(filter.match(`The model replied \u201C${typographic}\u201D and stopped.`)).toBe(phrase);
    expect(filter.match(`The model replied \u2018${typographic}\u2019 and stopped.`)).toBe(phrase);
  });

  test('matches the seed\'s "as an Al language model" written with a letter l', () => {
    expect(filter.match('As an Al language model, I would not guess.')).toBe('as an AI language model');
    expect(filter.match('AS AN AL LANGUAGE MODEL, no comment.')).toBe('as an AI language model');
    expect(filter.match('as an al language   model')).toBe('as an AI language model');
  });

  test('matches "as an Al, I cannot" written with a letter l', () => {
    expect(filter.match('As an Al, I cannot tell whether the face is live.')).toBe('as an AI, I cannot');
  });

  // Bug (activities/model-api/special-words.ts:12-13): the "as an al" -> "as an ai" rewrite runs
  // before whitespace is collapsed, so the letter-l form is missed when its first three words are
  // separated by more than one space or by a newline.
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
    // "as an AI, I cannot" comes before "I cannot" in the list.
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
    [''],
  ])('does not match the clean answer "%s"', (answer) => {
    expect(filter.match(answer)).toBeUndefined();
  });

  // Bug (activities/model-api/special-words.ts:27): phrases are matched as plain substrings with no
  // word boundary, so "I cannot" is found inside "AI cannot" and a definite, clean answer is dropped
  // as a refusal.
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
});
