/**
 * Prompt rendering from the real templates in config/prompts/v1.
 */
import { findClass, loadAssets, type TaxonomyClass } from '../../../config/assets';
import { TASKS, type Task } from '../../../config/build-input';
import {
  fill,
  formatBox,
  renderAugmentPrompt,
  renderConstructionPrompt,
  renderJudgePrompt,
  renderRepairPrompt,
  renderVicunaPrompt,
  type Box,
} from '../../../activities/model-api/prompts';
import { labelHintLine } from '../../../simulator';

const { prompts, taxonomy } = loadAssets();
const cls = (name: string): TaxonomyClass => {
  const c = findClass(taxonomy, name);
  if (!c) throw new Error(`taxonomy lacks ${name}`);
  return c;
};
const BOX: Box = [92, 339, 352, 507];
const BOX_TEXT = '[92.0, 339.0, 352.0, 507.0]';

const construction = (task: Task, className: string, responseFormat: 'json' | 'text' = 'json', box: Box | null = BOX) =>
  renderConstructionPrompt({ prompts, task, cls: cls(className), box, responseFormat });

describe('renderConstructionPrompt', () => {
  test.each(TASKS.map((t) => [t]))('renders the %s task from the templates with no placeholder left', (task) => {
    for (const className of ['Bonafide', 'Print', 'Partial Eye']) {
      const prompt = construction(task, className);
      expect(prompt).not.toContain('{{');
      expect(prompt).not.toContain('}}');
      expect(prompt).toContain(prompts.tasks[task].questionType);
      for (const example of prompts.tasks[task].examples) {
        expect(prompt).toContain(`Question: ${example.question}\nAnswer: ${example.answer}`);
      }
    }
  });

  test('renders the same prompt for the same input every time', () => {
    expect(construction('fine', 'Replay')).toBe(construction('fine', 'Replay'));
  });

  test('says "real" for a bona fide picture and does not name an attack', () => {
    const prompt = construction('coarse', 'Bonafide');
    expect(prompt).toContain('This is a real face picture.');
    expect(prompt).not.toContain('This is a spoof face picture.');
    expect(prompt).toContain('The attack type is none (bona fide).');
    expect(prompt).toContain(cls('Bonafide').description);
  });

  test.each(taxonomy.classes.filter((c) => c.attack).map((c) => [c.name]))(
    'says "spoof" and names the class %s for an attack picture',
    (name) => {
      const prompt = construction('fine', name);
      expect(prompt).toContain('This is a spoof face picture.');
      expect(prompt).not.toContain('This is a real face picture.');
      expect(prompt).toContain(`The attack type is ${name}.`);
      expect(prompt).toContain(cls(name).description);
    },
  );

  test('puts the spoof-region box into the localization prompt in the paper notation', () => {
    const prompt = construction('localization', 'Partial Eye');
    expect(prompt).toContain(`The spoof region is at ${BOX_TEXT} in absolute pixel corners`);
  });

  test('throws for the localization task without a box', () => {
    expect(() => construction('localization', 'Partial Eye', 'json', null)).toThrow(
      /localization task needs a spoof-region box/,
    );
    expect(() =>
      renderConstructionPrompt({ prompts, task: 'localization', cls: cls('Partial Eye'), responseFormat: 'json' }),
    ).toThrow(/spoof-region box/);
  });

  test('does not need a box for the other tasks', () => {
    for (const task of TASKS.filter((t) => t !== 'localization')) {
      expect(() => construction(task, 'Print', 'json', null)).not.toThrow();
    }
  });

  test('lists every reasoning attribute, quoted', () => {
    const prompt = construction('reasoning', 'Replay');
    const attributes = prompts.tasks.reasoning.attributes ?? [];
    expect(attributes.length).toBeGreaterThan(0);
    expect(prompt).toContain(`Judge each of these attributes in turn: ${attributes.map((a) => `"${a}"`).join(', ')}.`);
  });

  test('ends with the JSON reply format line when JSON is asked for', () => {
    const prompt = construction('coarse', 'Print', 'json');
    expect(prompt.endsWith(prompts.replyFormat.json)).toBe(true);
    expect(prompt).toContain(
      'Reply with one JSON object of the form {"question": "...", "answer": "..."} and nothing else.',
    );
    expect(prompt).not.toContain(prompts.replyFormat.text);
  });

  test('ends with the two-line text reply format when text is asked for', () => {
    const prompt = construction('coarse', 'Print', 'text');
    expect(prompt.endsWith(prompts.replyFormat.text)).toBe(true);
    expect(prompt).toContain('Question: <the question>\nAnswer: <the answer>');
    expect(prompt).not.toContain(prompts.replyFormat.json);
  });
});

describe('formatBox', () => {
  test('writes absolute corners as floats with one decimal', () => {
    expect(formatBox(BOX)).toBe(BOX_TEXT);
    expect(formatBox([10.04, 20.06, 30.5, 40])).toBe('[10.0, 20.1, 30.5, 40.0]');
  });
});

describe('renderVicunaPrompt', () => {
  test('puts the image token after USER: and ends in ASSISTANT:', () => {
    const prompt = renderVicunaPrompt(prompts.system, 'Is the face real?', true);
    expect(prompt).toBe(`${prompts.system} USER: <image>\nIs the face real? ASSISTANT:`);
    expect(prompt).toContain('USER: <image>\n');
    expect(prompt.endsWith('ASSISTANT:')).toBe(true);
  });

  test('leaves the image token out when there is no image', () => {
    const prompt = renderVicunaPrompt(prompts.system, 'Hello', false);
    expect(prompt).not.toContain('<image>');
    expect(prompt).toBe(`${prompts.system} USER: Hello ASSISTANT:`);
  });

  test('continues a repair as further Vicuna turns, not as one run-on user message', () => {
    const prompt = renderVicunaPrompt(prompts.system, 'Is the face real?', true, [
      { role: 'assistant', content: '{"question": "Is' },
      { role: 'user', content: 'Your previous reply could not be used: not closed' },
    ]);
    expect(prompt).toBe(
      `${prompts.system} USER: <image>\nIs the face real? ASSISTANT: {"question": "Is</s>` +
        'USER: Your previous reply could not be used: not closed ASSISTANT:',
    );
  });
});

describe('renderJudgePrompt', () => {
  const q = 'Is the face real?';
  const a = 'The face is a "spoof": a printed photo.';

  test('carries the pair as JSON and has no label hint when no label is given', () => {
    const prompt = renderJudgePrompt(prompts, q, a);
    expect(prompt).toContain(JSON.stringify({ question: q, answer: a }));
    expect(prompt).not.toContain('ground-truth label');
    expect(prompt).not.toContain('{{');
    expect(prompt).toContain('\nWhether the question and answer correspond to each other?');
  });

  test('has the spoof label hint with the class name when the label is an attack', () => {
    const prompt = renderJudgePrompt(prompts, q, a, { attack: true, className: 'Print' });
    expect(prompt).toContain('The ground-truth label of the picture is spoof (Print).\nWhether the question');
    expect(prompt).toContain(labelHintLine('spoof', 'Print'));
  });

  test('has the real label hint without a class name when the label is bona fide', () => {
    const prompt = renderJudgePrompt(prompts, q, a, { attack: false, className: 'Bonafide' });
    expect(prompt).toContain('The ground-truth label of the picture is real.\n');
    expect(prompt).toContain(labelHintLine('real'));
    expect(prompt).not.toContain('Bonafide');
  });
});

describe('renderAugmentPrompt and renderRepairPrompt', () => {
  test('the augmentation prompt carries the pair as JSON', () => {
    const prompt = renderAugmentPrompt(prompts, 'What is shown?', 'A print attack.');
    expect(prompt).toContain('{"question":"What is shown?","answer":"A print attack."}');
    expect(prompt).not.toContain('{{');
  });

  test('the repair prompt carries the error and the reply format', () => {
    const prompt = renderRepairPrompt(prompts, 'answer: Required', 'text');
    expect(prompt).toContain('Your previous reply could not be used: answer: Required');
    expect(prompt).toContain(prompts.replyFormat.text);
    expect(prompt).not.toContain('{{');
  });
});

describe('fill', () => {
  test('replaces every placeholder with its value', () => {
    expect(fill('{{a}} and {{b}} and {{a}}', { a: 'x', b: 'y' })).toBe('x and y and x');
  });

  test('inserts values literally, without interpreting $ patterns or placeholders inside them', () => {
    expect(fill('cost: {{v}}', { v: '$& $1 {{w}}' })).toBe('cost: $& $1 {{w}}');
  });

  test('throws on a missing key and names it', () => {
    expect(() => fill('Hello {{name}}, {{other}}', { name: 'x' })).toThrow(
      'prompt template needs {{other}} but no value was given',
    );
  });

  test('accepts an empty string as a value', () => {
    expect(fill('[{{labelHint}}]', { labelHint: '' })).toBe('[]');
  });
});
