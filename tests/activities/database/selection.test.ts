/**
 * Selection to target: the allocation per stratum, and the stage on a real PostgreSQL database —
 * `not_selected` drops, the shortfall report, determinism and retries.
 */
import { eq } from 'drizzle-orm';
import { readFunnel } from '../../../activities/database/funnel';
import { writeRecords, type RecordRow } from '../../../activities/database/records';
import { allocate, selectPretrainRecords, selectSftRecords } from '../../../activities/database/selection';
import type { Db } from '../../../db/client';
import { records, verdicts } from '../../../db/schema';
import { seedImage, useTestDatabase } from '../../support/rows';
import { expectFunnelAddsUp } from '../../support/funnel';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('allocate', () => {
  test('balanced: an equal share each when every stratum has enough', () => {
    expect(allocate([50, 40, 30], 30, 'balanced')).toEqual({ share: [10, 10, 10], selected: [10, 10, 10] });
  });

  test('balanced: a small stratum gives all it has and the others make up the target', () => {
    const { share, selected } = allocate([3, 100, 100], 60, 'balanced');
    expect(share).toEqual([20, 20, 20]);
    expect(selected).toEqual([3, 28, 29]);
    expect(sum(selected)).toBe(60);
  });

  test('balanced: below the target every pair is kept and the shares show the shortfall', () => {
    const { share, selected } = allocate([3, 10, 5], 30, 'balanced');
    expect(selected).toEqual([3, 10, 5]);
    expect(share).toEqual([10, 10, 10]);
  });

  test('proportional: each stratum keeps its share of the pool', () => {
    const { share, selected } = allocate([10, 30, 60], 50, 'proportional');
    expect(selected).toEqual([5, 15, 30]);
    expect(share).toEqual(selected);
    expect(sum(allocate([7, 7, 7], 10, 'proportional').selected)).toBe(10);
  });

  test('never selects more than a stratum has, nor more than the target', () => {
    for (const mode of ['balanced', 'proportional'] as const) {
      for (const target of [1, 7, 20, 51, 500]) {
        const available = [0, 1, 2, 13, 5, 40];
        const { selected } = allocate(available, target, mode);
        selected.forEach((s, i) => expect(s).toBeLessThanOrEqual(available[i]!));
        expect(sum(selected)).toBe(Math.min(target, sum(available)));
      }
    }
  });
});

describe('the selection stage in the database', () => {
  let db: Db;
  useTestDatabase((testDb) => (db = testDb.database.db));

  /** `n` live SFT pairs of one stratum, half of them augmented. */
  async function stratum(buildId: string, source: string, className: string, task: string, n: number, set = 'sft') {
    const imageSeq = await seedImage(db, buildId, {
      source,
      className,
      relPath: `${className}/${task}.png`,
      absPath: '/x.png',
    });
    const rows: RecordRow[] = Array.from({ length: n }, (_, i) => ({
      id: `${buildId}:${source}:${className}:${task}:${i}`,
      buildId,
      imageSeq,
      set,
      task,
      origin: set === 'sft' && i % 2 ? 'augmented' : 'generated',
      question: 'q?',
      answer: 'a.',
      status: 'active',
      stage: 'near_duplicate',
    }));
    await writeRecords(
      db,
      buildId,
      rows.map((record) => ({ record, verdicts: [] })),
    );
  }

  test('the pretrain draw balances classes to its own target and leaves the SFT pairs alone', async () => {
    const b = 'sel-pretrain';
    await stratum(b, 'siw', 'Print', 'pretrain', 8, 'pretrain');
    await stratum(b, 'siw', 'Bonafide', 'pretrain', 2, 'pretrain');
    await stratum(b, 'siw', 'Print', 'coarse', 5);

    const out = await selectPretrainRecords(db, { buildId: b, target: 6, mode: 'balanced' });
    expect(out).toMatchObject({ in: 10, kept: 6, dropped: { not_selected: 4 }, failed: {} });
    const by = Object.fromEntries(out.report.strata.map((s) => [s.stratum, s]));
    expect(by['Bonafide/pretrain/siw']).toMatchObject({ available: 2, share: 3, selected: 2, shortfall: 1 });
    expect(by['Print/pretrain/siw']).toMatchObject({ available: 8, share: 3, selected: 4 });

    const rows = await db.select().from(records).where(eq(records.buildId, b));
    expect(rows.filter((r) => r.set === 'sft').every((r) => r.status === 'active')).toBe(true);
    expect(rows.filter((r) => r.set === 'pretrain' && r.status === 'active')).toHaveLength(6);

    const funnel = await readFunnel(db, b);
    expectFunnelAddsUp(funnel);
    expect(funnel.map((s) => s.stage)).toEqual(['ingest', 'pretrain_selection']);
    expect(funnel.find((s) => s.stage === 'pretrain_selection')!.selection).toMatchObject({ target: 6, shortfall: 0 });
  });

  test('reaches the target over class × task × source, drops the rest as not_selected, and is the same on a retry', async () => {
    const b = 'sel-target';
    await stratum(b, 'siw', 'Print', 'coarse', 40);
    await stratum(b, 'siw', 'Print', 'fine', 4);
    await stratum(b, 'wmca', 'Print', 'coarse', 30);
    await stratum(b, 'siw', 'Bonafide', 'coarse', 20);

    const out = await selectSftRecords(db, { buildId: b, target: 40, mode: 'balanced' });
    expect(out).toMatchObject({ in: 94, kept: 40, dropped: { not_selected: 54 }, failed: {} });
    expect(out.report).toMatchObject({ target: 40, available: 94, selected: 40, shortfall: 0 });
    const by = Object.fromEntries(out.report.strata.map((s) => [s.stratum, s]));
    expect(by['Print/fine/siw']).toMatchObject({ available: 4, share: 10, selected: 4, shortfall: 6 });
    expect(by['Print/coarse/siw']).toMatchObject({ available: 40, selected: 12 });
    expect(sum(out.report.strata.map((s) => s.selected))).toBe(40);

    const rows = await db.select().from(records).where(eq(records.buildId, b));
    const active = rows.filter((r) => r.status === 'active');
    expect(active).toHaveLength(40);
    expect(rows.filter((r) => r.reason === 'not_selected')).toHaveLength(54);
    // Generated pairs are chosen before augmented ones within a stratum.
    const coarse = active.filter((r) => r.id.startsWith(`${b}:siw:Print:coarse:`));
    expect(coarse.every((r) => r.origin === 'generated')).toBe(true);

    const again = await selectSftRecords(db, { buildId: b, target: 40, mode: 'balanced' });
    expect({ ...again, alreadyDone: 0 }).toEqual({ ...out, alreadyDone: 0 });
    expect(again.alreadyDone).toBe(94);
    expect(await db.select().from(verdicts).where(eq(verdicts.buildId, b))).toHaveLength(94);

    const funnel = await readFunnel(db, b);
    expectFunnelAddsUp(funnel);
    const selection = funnel.find((s) => s.stage === 'selection')!;
    expect(selection).toMatchObject({ in: 94, kept: 40, dropped: { not_selected: 54 } });
    expect(selection.selection).toMatchObject({ target: 40, selected: 40, shortfall: 0 });
    expect(selection.selection!.strata.find((s) => s.stratum === 'Print/fine/siw')).toMatchObject({
      className: 'Print',
      task: 'fine',
      source: 'siw',
      shortfall: 6,
    });
  });

  test('keeps every pair and reports the shortfall when the pool is below the target', async () => {
    const b = 'sel-short';
    await stratum(b, 'siw', 'Replay', 'coarse', 5);
    await stratum(b, 'siw', 'Replay', 'fine', 2);
    const out = await selectSftRecords(db, { buildId: b, target: 45_000, mode: 'balanced' });
    expect(out).toMatchObject({ in: 7, kept: 7, dropped: {} });
    expect(out.report).toMatchObject({ target: 45_000, selected: 7, shortfall: 44_993 });
    expect(out.report.strata.map((s) => [s.stratum, s.shortfall])).toEqual([
      ['Replay/coarse/siw', 22_495],
      ['Replay/fine/siw', 22_498],
    ]);
  });
});
