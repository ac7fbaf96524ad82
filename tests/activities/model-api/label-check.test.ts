/**
 * Label consistency of generated answers, against the real taxonomy.
 */
import { findClass, loadAssets, type TaxonomyClass } from '../../../config/assets';
import { checkLabel, describeMismatch, findBox, iou } from '../../../activities/model-api/label-check';
import type { Box } from '../../../activities/model-api/prompts';

const { taxonomy } = loadAssets();
const cls = (name: string): TaxonomyClass => {
  const c = findClass(taxonomy, name);
  if (!c) throw new Error(`taxonomy lacks ${name}`);
  return c;
};
const bonafide = cls('Bonafide');
const print = cls('Print');

describe('checkLabel for the coarse task', () => {
  test('accepts a spoof answer for an attack picture', () => {
    expect(
      checkLabel(
        taxonomy,
        'coarse',
        print,
        'The image is a spoof face: a printed photograph of a face is presented to the camera.',
      ),
    ).toBeUndefined();
  });

  test('accepts "not real" as a spoof answer for an attack picture', () => {
    expect(checkLabel(taxonomy, 'coarse', print, 'The face is not real; it is a printed photo.')).toBeUndefined();
  });

  test('rejects a real answer for an attack picture', () => {
    expect(
      checkLabel(
        taxonomy,
        'coarse',
        print,
        'The face in this picture is real: the skin texture and natural shading are consistent with a live person.',
      ),
    ).toBe('coarse_answer_contradicts_label');
  });

  test('accepts a real answer for a bona fide picture', () => {
    expect(
      checkLabel(taxonomy, 'coarse', bonafide, 'The face is genuine and belongs to a live person.'),
    ).toBeUndefined();
  });

  test('accepts a bona fide answer that mentions spoofing only to deny it', () => {
    expect(checkLabel(taxonomy, 'coarse', bonafide, 'The face is real, not a spoof.')).toBeUndefined();
  });

  test('rejects a spoof answer for a bona fide picture', () => {
    expect(
      checkLabel(
        taxonomy,
        'coarse',
        bonafide,
        'This is a spoof face. The picture reveals a printed photograph, so the face is fake.',
      ),
    ).toBe('coarse_answer_contradicts_label');
  });

  test('reads the answer regardless of case and typographic quotes', () => {
    expect(checkLabel(taxonomy, 'coarse', bonafide, 'THE FACE IS \u201CFAKE\u201D.')).toBe(
      'coarse_answer_contradicts_label',
    );
    expect(checkLabel(taxonomy, 'coarse', print, 'THE FACE IS \u201CREAL\u201D.')).toBe(
      'coarse_answer_contradicts_label',
    );
  });

  // Bug (activities/model-api/label-check.ts:23,25): for an attack picture any spoof word counts as
  // saying "spoof", even when negated, so a real answer that says there is "no sign of a presentation
  // attack" (the simulator's own contradiction answer) passes the label check.
  test('rejects a real answer for an attack picture that denies any presentation attack', () => {
    expect(
      checkLabel(
        taxonomy,
        'coarse',
        print,
        'The face is real. It belongs to a live person in front of the camera, with natural skin texture and no sign of a presentation attack.',
      ),
    ).toBe('coarse_answer_contradicts_label');
  });

  // Bug (activities/model-api/label-check.ts:24): `text.replace(SPOOF_WORDS, ' ')` has no `g` flag, so
  // only the first spoof word is removed; a later "not real" / "not genuine" then leaves "real" /
  // "genuine" behind and a clear spoof answer for a bona fide picture passes.
  test('rejects a spoof answer for a bona fide picture that also says "not real"', () => {
    expect(checkLabel(taxonomy, 'coarse', bonafide, 'This is a spoof; the face is not real.')).toBe(
      'coarse_answer_contradicts_label',
    );
    expect(checkLabel(taxonomy, 'coarse', bonafide, 'The face is fake and not genuine.')).toBe(
      'coarse_answer_contradicts_label',
    );
  });
});

describe('checkLabel for the fine task', () => {
  test('accepts an answer that names the right class', () => {
    expect(
      checkLabel(taxonomy, 'fine', print, 'This picture shows a Print Attack: a printed photograph of a face is used.'),
    ).toBeUndefined();
    expect(checkLabel(taxonomy, 'fine', cls('Partial Eye'), 'THE ATTACK TYPE IS PARTIAL EYE ATTACK.')).toBeUndefined();
  });

  test('accepts an answer that names the class by a synonym', () => {
    expect(
      checkLabel(taxonomy, 'fine', cls('Fakehead'), 'A mannequin is placed in front of the camera to deceive it.'),
    ).toBeUndefined();
    expect(
      checkLabel(taxonomy, 'fine', cls('Flexible mask'), 'The person wears a silicone mask over the whole face.'),
    ).toBeUndefined();
  });

  test('rejects an answer that names another class', () => {
    expect(
      checkLabel(taxonomy, 'fine', print, 'This picture shows a Replay Attack: a face is replayed on a phone.'),
    ).toBe('fine_answer_names_another_class');
    expect(checkLabel(taxonomy, 'fine', cls('Fakehead'), 'The person wears a latex mask.')).toBe(
      'fine_answer_names_another_class',
    );
  });

  test('rejects an answer that names no class', () => {
    expect(checkLabel(taxonomy, 'fine', print, 'This is some kind of presentation attack.')).toBe(
      'fine_answer_names_no_class',
    );
  });

  test('accepts a bona fide fine answer for a bona fide picture', () => {
    expect(
      checkLabel(
        taxonomy,
        'fine',
        bonafide,
        'There is no facial attack in this image; the face is bona fide and belongs to a live person.',
      ),
    ).toBeUndefined();
    expect(
      checkLabel(taxonomy, 'fine', bonafide, 'The face belongs to a person in front of the camera.'),
    ).toBeUndefined();
  });

  test('rejects an answer naming an attack for a bona fide picture', () => {
    expect(checkLabel(taxonomy, 'fine', bonafide, 'This picture shows a Print Attack with paper edges.')).toBe(
      'fine_answer_names_an_attack',
    );
  });
});

describe('checkLabel for the localization task', () => {
  const box: Box = [92, 339, 352, 507];

  test('accepts an answer that states the box', () => {
    expect(
      checkLabel(taxonomy, 'localization', print, 'The spoofing region is at [92.0, 339.0, 352.0, 507.0].', box),
    ).toBeUndefined();
    expect(checkLabel(taxonomy, 'localization', print, 'The region is [92, 339, 352, 507].', box)).toBeUndefined();
  });

  test('accepts a box that overlaps enough', () => {
    expect(
      checkLabel(taxonomy, 'localization', print, 'The region is at [100.0, 345.0, 350.0, 500.0].', box),
    ).toBeUndefined();
  });

  test('rejects a box that overlaps too little', () => {
    expect(checkLabel(taxonomy, 'localization', print, 'The region is at [10.0, 20.0, 60.0, 80.0].', box)).toBe(
      'localization_box_mismatch',
    );
  });

  test('uses the given minimum IoU', () => {
    const answer = 'The region is at [92.0, 339.0, 222.0, 507.0].'; // IoU 0.5
    expect(checkLabel(taxonomy, 'localization', print, answer, box, 0.5)).toBeUndefined();
    expect(checkLabel(taxonomy, 'localization', print, answer, box, 0.6)).toBe('localization_box_mismatch');
  });

  test('rejects an answer with no box', () => {
    expect(checkLabel(taxonomy, 'localization', print, 'The spoof area covers the eyes.', box)).toBe(
      'localization_answer_has_no_box',
    );
  });

  test('has nothing to check without a ground-truth box', () => {
    expect(checkLabel(taxonomy, 'localization', print, 'The spoof area covers the eyes.', null)).toBeUndefined();
  });
});

describe('findBox', () => {
  test('reads the first four-number bracket, with decimals, negatives and spacing', () => {
    expect(findBox('at [ 1.5 ,-2, 30.25,40 ] and [5, 6, 7, 8]')).toEqual([1.5, -2, 30.25, 40]);
  });

  test('ignores brackets that do not hold four numbers', () => {
    expect(findBox('[1, 2, 3] and [a, b, c, d]')).toBeUndefined();
  });
});

describe('iou', () => {
  test.each<[string, Box, Box, number]>([
    ['identical boxes', [0, 0, 10, 10], [0, 0, 10, 10], 1],
    ['disjoint boxes', [0, 0, 10, 10], [20, 20, 30, 30], 0],
    ['boxes that only touch', [0, 0, 10, 10], [10, 0, 20, 10], 0],
    ['boxes overlapping by half of each', [0, 0, 10, 10], [5, 0, 15, 10], 1 / 3],
    ['a box inside another', [0, 0, 10, 10], [0, 0, 5, 5], 0.25],
    ['a box half as wide as the paper example', [92, 339, 352, 507], [92, 339, 222, 507], 0.5],
    ['two empty boxes', [5, 5, 5, 5], [5, 5, 5, 5], 0],
    ['a box with swapped corners', [10, 10, 0, 0], [0, 0, 10, 10], 0],
  ])('gives the known value for %s', (_name, a, b, expected) => {
    expect(iou(a, b)).toBeCloseTo(expected, 10);
    expect(iou(b, a)).toBeCloseTo(expected, 10);
  });
});

describe('boxes inside the image, reasoning conclusions and descriptions', () => {
  const box: Box = [40, 50, 120, 80];
  const image = { width: 200, height: 200 };

  test('a box reaching outside the image is dropped even when it overlaps the truth', () => {
    expect(checkLabel(taxonomy, 'localization', print, 'At [40.0, 50.0, 230.0, 80.0].', box, 0.3, image)).toBe(
      'localization_box_outside_image',
    );
    expect(checkLabel(taxonomy, 'localization', print, 'At [-10.0, 50.0, 120.0, 80.0].', box, 0.3, image)).toBe(
      'localization_box_outside_image',
    );
    expect(checkLabel(taxonomy, 'localization', print, 'At [120.0, 50.0, 40.0, 80.0].', box, 0.3, image)).toBe(
      'localization_box_outside_image',
    );
    expect(
      checkLabel(taxonomy, 'localization', print, 'At [40.0, 50.0, 120.0, 80.0].', box, 0.5, image),
    ).toBeUndefined();
  });

  test('the configured IoU decides a shifted box', () => {
    const answer = 'At [50.0, 50.0, 130.0, 80.0].';
    expect(iou([50, 50, 130, 80], box)).toBeCloseTo(70 / 90, 6);
    expect(checkLabel(taxonomy, 'localization', print, answer, box, 0.7, image)).toBeUndefined();
    expect(checkLabel(taxonomy, 'localization', print, answer, box, 0.8, image)).toBe('localization_box_mismatch');
  });

  test('a reasoning answer must conclude with the label', () => {
    const spoofy =
      'The "Face Facial Lighting" is flat. Analyzing these attributes, we conclude that the face is a spoof.';
    const realish = 'The lighting is natural. Taking these attributes together, we conclude that the face is real.';
    expect(checkLabel(taxonomy, 'reasoning', print, spoofy)).toBeUndefined();
    expect(checkLabel(taxonomy, 'reasoning', print, realish)).toBe('reasoning_conclusion_contradicts_label');
    expect(checkLabel(taxonomy, 'reasoning', bonafide, realish)).toBeUndefined();
    expect(checkLabel(taxonomy, 'reasoning', bonafide, spoofy)).toBe('reasoning_conclusion_contradicts_label');
    // A real conclusion after attributes that mention attack cues is still a real conclusion.
    const mixed = 'No phone screen or paper edge suggests an attack. Therefore the face is real.';
    expect(checkLabel(taxonomy, 'reasoning', bonafide, mixed)).toBeUndefined();
  });

  test('a description that calls the face the opposite of its label is dropped; a neutral one is kept', () => {
    expect(checkLabel(taxonomy, 'pretrain', print, 'The face is real, with no sign of a presentation attack.')).toBe(
      'pretrain_description_contradicts_label',
    );
    expect(
      checkLabel(taxonomy, 'pretrain', print, 'A printed photograph of a face is held up to the camera.'),
    ).toBeUndefined();
    expect(checkLabel(taxonomy, 'pretrain', bonafide, 'A spoof face made with a paper mask.')).toBe(
      'pretrain_description_contradicts_label',
    );
    expect(checkLabel(taxonomy, 'pretrain', bonafide, 'A man looks at the camera in an office.')).toBeUndefined();
  });

  test('a re-ask explains the mismatch with the label and the box', () => {
    expect(describeMismatch('localization_box_mismatch', print, box)).toBe(
      "the answer's box does not match the spoof region at [40, 50, 120, 80]",
    );
    expect(describeMismatch('coarse_answer_contradicts_label', bonafide)).toMatch(/real \(bona fide\) face/);
    expect(describeMismatch('something_new', print)).toMatch(/something_new/);
  });
});
