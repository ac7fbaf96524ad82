/**
 * Parsing the build input: every default applied, every bad field named by its path.
 */
import { BuildInputError, parseBuildInput, TASKS } from '../../config/build-input';

const source = { name: 'siw-mv2', adapter: 'siw-mv2', root: '/data/SiW-Mv2' };

function errorOf(raw: unknown): BuildInputError {
  try {
    parseBuildInput(raw);
  } catch (err) {
    if (err instanceof BuildInputError) return err;
    throw err;
  }
  throw new Error('expected the build input to be rejected');
}

describe('parseBuildInput', () => {
  test('applies every default to a minimal input', () => {
    expect(parseBuildInput({ sources: [source] })).toEqual({
      name: 'fasforge build',
      sources: [
        {
          ...source,
          licence: 'see the source dataset licence',
          frameBudget: 8,
          maxPixels: 50_000_000,
          minSide: 64,
          nearDuplicateDistance: 4,
          split: 'subject',
        },
      ],
      tasks: [...TASKS],
      generation: {
        requestStyle: 'chat',
        responseFormat: 'json',
        temperature: 0.2,
        maxTokens: 512,
        batchSize: 20,
        parallelBatches: 4,
        concurrency: 4,
        repair: true,
        minBoxIou: 0.5,
        inconsistent: 'drop',
      },
      clip: {
        mode: 'absolute',
        threshold: 0.15,
        perClass: false,
        batchSize: 16,
        recordsPerActivity: 200,
        target: 10_000,
        selection: 'balanced',
      },
      sft: {
        order: 'augment-then-filter',
        augment: true,
        judge: true,
        judgeSeesLabel: false,
        specialWords: true,
        batchSize: 25,
        parallelBatches: 4,
        concurrency: 4,
        nearDuplicates: { enabled: true, threshold: 0.9, compare: 'answer', scope: 'image' },
        target: 45_000,
        selection: 'balanced',
        continueAsNewAfterEvents: 4000,
      },
      review: { required: true, timeout: { action: 'wait', remindEvery: '1d' } },
      export: {
        formats: ['llava-json', 'llava-jsonl', 'sharegpt', 'hf-jsonl', 'hf-parquet'],
        boxFormat: 'absolute',
        images: 'copy',
      },
      budget: {},
    });
  });

  test('fills the defaults of a section that is given in part', () => {
    const input = parseBuildInput({
      sources: [source],
      generation: { model: 'bunny', temperature: 0 },
      clip: { threshold: -0.5 },
    });
    expect(input.generation).toMatchObject({ model: 'bunny', temperature: 0, maxTokens: 512, repair: true });
    expect(input.clip).toEqual({
      mode: 'absolute',
      threshold: -0.5,
      perClass: false,
      batchSize: 16,
      recordsPerActivity: 200,
      target: 10_000,
      selection: 'balanced',
    });
  });

  test('keeps given values over the defaults', () => {
    const input = parseBuildInput({
      sources: [source],
      name: 'small',
      tasks: ['coarse'],
      maxImages: 10,
      review: { required: false },
    });
    expect(input).toMatchObject({ name: 'small', tasks: ['coarse'], maxImages: 10, review: { required: false } });
  });

  test('gives each parse its own default objects', () => {
    const a = parseBuildInput({ sources: [source] });
    const b = parseBuildInput({ sources: [source] });
    a.generation.temperature = 1.5;
    a.tasks.pop();
    expect(b.generation.temperature).toBe(0.2);
    expect(b.tasks).toEqual([...TASKS]);
    expect(parseBuildInput({ sources: [source] }).generation.temperature).toBe(0.2);
  });

  test('rejects an unknown top-level key and names it', () => {
    const err = errorOf({ sources: [source], colour: 'blue' });
    expect(err.name).toBe('BuildInputError');
    expect(err.message).toBe('(root): Unrecognized key: "colour"');
  });

  test('rejects an unknown nested key with the path of its section', () => {
    expect(errorOf({ sources: [source], generation: { temprature: 0.5 } }).message).toBe(
      'generation: Unrecognized key: "temprature"',
    );
    expect(errorOf({ sources: [{ ...source, spoof_regions: 'x.json' }] }).message).toBe(
      'sources.0: Unrecognized key: "spoof_regions"',
    );
  });

  test('rejects a threshold above 1 with the path clip.threshold', () => {
    expect(errorOf({ sources: [source], clip: { threshold: 2 } }).message).toMatch(/^clip\.threshold: /);
  });

  test('rejects a threshold that is not a number with the path clip.threshold', () => {
    expect(errorOf({ sources: [source], clip: { threshold: '0.2' } }).message).toMatch(/^clip\.threshold: /);
  });

  test('rejects an empty source list', () => {
    expect(errorOf({ sources: [] }).message).toBe('sources: name at least one source dataset');
  });

  test('rejects a missing source list', () => {
    expect(errorOf({}).message).toMatch(/^sources: /);
  });

  test('rejects a source name with a path separator', () => {
    expect(errorOf({ sources: [{ ...source, name: '../etc' }] }).message).toBe(
      'sources.0.name: use letters, digits, "_", "-" or "." only',
    );
  });

  test('rejects an unknown task and an unknown adapter by their paths', () => {
    expect(errorOf({ sources: [source], tasks: ['coarse', 'colour'] }).message).toMatch(/^tasks\.1: /);
    expect(errorOf({ sources: [{ ...source, adapter: 'casia' }] }).message).toMatch(/^sources\.0\.adapter: /);
  });

  test('lists every bad field in one message', () => {
    const message = errorOf({ sources: [], clip: { threshold: 2 }, generation: { maxTokens: 0 }, extra: true }).message;
    for (const part of [
      'sources: ',
      'clip.threshold: ',
      'generation.maxTokens: ',
      '(root): Unrecognized key: "extra"',
    ]) {
      expect(message).toContain(part);
    }
    expect(message.split('; ')).toHaveLength(4);
  });

  test('rejects an input that is not an object', () => {
    expect(errorOf(null).message).toMatch(/^\(root\): /);
  });
});
