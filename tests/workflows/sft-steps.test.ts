/**
 * The SFT child's steps for each configured order and switch, and the batch runner's stop rule
 * that continue-as-new relies on.
 */
import { parseBuildInput } from '../../config/build-input';
import { runInBatches } from '../../workflows/batches';
import { sftSteps } from '../../workflows/sft-pipeline';

const sft = (over: Record<string, unknown>) =>
  parseBuildInput({ sources: [{ name: 's', adapter: 'siw-mv2', root: '/x' }], sft: over }).sft;
const names = (over: Record<string, unknown>) =>
  sftSteps(sft(over)).map((s) => `${s.name}${s.origin ? `(${s.origin})` : ''}`);

describe('sftSteps', () => {
  test('augment-then-filter augments the generated pairs, then filters them all', () => {
    expect(names({})).toEqual(['augment(generated)', 'sft_filter', 'near_duplicate', 'selection']);
  });

  test('filter-augment-filter filters the generated pairs, augments the survivors, then filters only the new pairs', () => {
    expect(names({ order: 'filter-augment-filter' })).toEqual([
      'sft_filter(generated)',
      'augment(generated)',
      'sft_refilter(augmented)',
      'near_duplicate',
      'selection',
    ]);
  });

  test('leaves out what is switched off', () => {
    expect(names({ order: 'filter-augment-filter', augment: false })).toEqual([
      'sft_filter',
      'near_duplicate',
      'selection',
    ]);
    expect(names({ judge: false, specialWords: false, selection: 'off' })).toEqual([
      'augment(generated)',
      'near_duplicate',
    ]);
    expect(
      names({
        augment: false,
        judge: false,
        specialWords: false,
        nearDuplicates: { enabled: false },
        selection: 'off',
      }),
    ).toEqual([]);
  });
});

describe('runInBatches', () => {
  test('stops starting units once told to, finishes those in flight, and returns the rest', async () => {
    const done: number[] = [];
    const left = await runInBatches(
      [1, 2, 3, 4, 5, 6],
      2,
      async (n) => n,
      (n) => done.push(n),
      () => done.length >= 3,
    );
    expect(done.length + left.length).toBe(6);
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect([...done, ...left].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('always finishes one unit, even when told to stop at once', async () => {
    const left = await runInBatches(
      [1, 2, 3],
      1,
      async (n) => n,
      () => undefined,
      () => true,
    );
    expect(left).toEqual([2, 3]);
  });
});
