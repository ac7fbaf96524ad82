/**
 * The CLIP filter activities on a real PostgreSQL database with the real scorer (the stand-in
 * model) and real sample images: absolute and top-fraction thresholds, per class, the raw score on
 * every record, per-batch writes that survive a failed attempt, and the per-class score report.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

import { and, eq } from 'drizzle-orm';
import * as ort from 'onnxruntime-node';

import { loadClipModel, type ClipScorer } from '../../../activities/clip';
import { createScoreRecords } from '../../../activities/clip/score-records';
import { clipScoreStats, distribution } from '../../../activities/clip/score-stats';
import { createApplyClipThreshold, topFractionCutoff } from '../../../activities/clip/threshold';
import type { ScoreInput } from '../../../activities/contracts';
import * as recordsModule from '../../../activities/database/records';
import { parseBuildInput } from '../../../config/build-input';
import type { Db } from '../../../db/client';
import { images, records, verdicts } from '../../../db/schema';
import { createTestDatabase } from '../../support/env';
import { seedPretrainRecords } from '../../support/rows';

const ROOT = path.resolve(__dirname, '../../..');
const MODEL_DIR = path.join(ROOT, 'models/tiny-clip-standin');
const SAMPLES = path.join(ROOT, 'samples/siw-mv2');
const TEXTS = [
  'A photo of a real person looking straight at the camera.',
  'A printed photograph is held in front of the camera; the paper border is visible.',
  'A replay attack shown on a phone screen.',
  'A paper cut-out covers the mouth.',
];

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let scorer: ClipScorer;
const load = () => Promise.resolve(scorer);

beforeAll(async () => {
  ort.env.logLevel = 'fatal';
  testDb = await createTestDatabase();
  db = testDb.database.db;
  scorer = await loadClipModel(MODEL_DIR, {
    logger: { info: () => undefined, warn: () => undefined },
    preferGpu: false,
  });
});

afterAll(async () => {
  await scorer?.close();
  await testDb?.drop();
});

/** Twelve sample images in two classes, with four pretrain descriptions each (48 records). */
async function seed(buildId: string, opts: { corrupt?: boolean } = {}): Promise<ScoreInput['range']> {
  const files = [
    ...readdirSync(path.join(SAMPLES, 'Live'))
      .sort()
      .slice(0, 6)
      .map((f) => ['Bonafide', path.join(SAMPLES, 'Live', f)] as const),
    ...readdirSync(path.join(SAMPLES, 'Spoof/Print'))
      .sort()
      .slice(0, 6)
      .map((f) => ['Print', path.join(SAMPLES, 'Spoof/Print', f)] as const),
  ];
  if (opts.corrupt) files[3] = ['Bonafide', path.join(SAMPLES, 'does-not-exist.jpg')];
  const seqs = await seedPretrainRecords(db, buildId, files, TEXTS, {
    source: 'siw',
    relPath: (i, absPath) => `${i}-${path.basename(absPath)}`,
  });
  return { from: seqs[0]!, to: seqs[seqs.length - 1]!, count: seqs.length };
}

const clipInput = (clip: object) =>
  parseBuildInput({ sources: [{ name: 's', adapter: 'siw-mv2', root: '/x' }], clip }).clip;
const rowsOf = (buildId: string) =>
  db
    .select({ id: records.id, score: records.clipScore, status: records.status, className: images.className })
    .from(records)
    .innerJoin(images, eq(images.seq, records.imageSeq))
    .where(eq(records.buildId, buildId));
const verdictsOf = (buildId: string) =>
  db
    .select()
    .from(verdicts)
    .where(and(eq(verdicts.buildId, buildId), eq(verdicts.stage, 'clip_filter')));

describe('absolute threshold', () => {
  test('stores the raw score on every record and keeps exactly those at or above the threshold', async () => {
    const range = await seed('abs-1');
    const input: ScoreInput = { buildId: 'abs-1', range, clip: clipInput({ threshold: 0.15, batchSize: 5 }) };
    const out = await createScoreRecords(db, load)(input);
    const rows = await rowsOf('abs-1');
    expect(rows).toHaveLength(48);
    expect(rows.every((r) => typeof r.score === 'number')).toBe(true);
    const above = rows.filter((r) => (r.score as number) >= 0.15);
    // The stand-in spreads scores around 0.15, so both outcomes occur.
    expect(above.length).toBeGreaterThan(0);
    expect(above.length).toBeLessThan(48);
    expect(out.kept).toBe(above.length);
    expect(out.dropped).toEqual({ clip_below_threshold: 48 - above.length });
    for (const r of rows) expect(r.status).toBe((r.score as number) >= 0.15 ? 'active' : 'dropped');
    const vs = await verdictsOf('abs-1');
    expect(vs).toHaveLength(48);
    expect(vs[0]!.detail).toMatchObject({ mode: 'absolute', threshold: 0.15, model: 'fasforge-tiny-clip-standin' });

    const again = await createScoreRecords(db, load)(input);
    expect(again.in).toBe(0);
    expect(await verdictsOf('abs-1')).toHaveLength(48);
  });

  test('holds a class to its own threshold when classThresholds names it', async () => {
    const range = await seed('abs-2');
    const clip = clipInput({ threshold: 0.15, classThresholds: { Print: -1 } });
    await createScoreRecords(db, load)({ buildId: 'abs-2', range, clip });
    const rows = await rowsOf('abs-2');
    const print = rows.filter((r) => r.className === 'Print');
    expect(print.length).toBeGreaterThan(0);
    expect(print.every((r) => r.status === 'active')).toBe(true);
    for (const r of rows.filter((x) => x.className === 'Bonafide')) {
      expect(r.status).toBe((r.score as number) >= 0.15 ? 'active' : 'dropped');
    }
  });

  test('fails the pairs of an unreadable image with a reason and scores the rest', async () => {
    const range = await seed('abs-3', { corrupt: true });
    const out = await createScoreRecords(db, load)({ buildId: 'abs-3', range, clip: clipInput({}) });
    expect(out.failed).toEqual({ corrupt_image: 4 });
    const failed = (await verdictsOf('abs-3')).filter((v) => v.verdict === 'failed');
    expect(failed).toHaveLength(4);
    expect(String((failed[0]!.detail as { error: string }).error)).toContain('does-not-exist.jpg');
    const rows = await rowsOf('abs-3');
    expect(rows.filter((r) => r.score === null)).toHaveLength(4);
  });

  test('writes each batch as it is scored, so a failed attempt loses nothing and a retry scores only the rest', async () => {
    const range = await seed('abs-4');
    const clip = clipInput({ batchSize: 8 });
    let batches = 0;
    const failing: ClipScorer = Object.create(scorer, {
      scoreBatches: {
        value: async function* (...args: Parameters<ClipScorer['scoreBatches']>) {
          for await (const b of scorer.scoreBatches(...args)) {
            if (++batches === 4) throw new Error('worker lost');
            yield b;
          }
        },
      },
    });
    await expect(
      createScoreRecords(db, () => Promise.resolve(failing))({ buildId: 'abs-4', range, clip }),
    ).rejects.toThrow('worker lost');
    expect(await verdictsOf('abs-4')).toHaveLength(24);
    const retry = await createScoreRecords(db, load)({ buildId: 'abs-4', range, clip });
    expect(retry.in).toBe(24);
    expect(await verdictsOf('abs-4')).toHaveLength(48);
  });
});

test('runs inference on the next batch while the previous batch is being written', async () => {
  const range = await seed('abs-5');
  const events: string[] = [];
  let inferences = 0;
  let secondInference!: () => void;
  const second = new Promise<void>((resolve) => (secondInference = resolve));
  const realJudge = recordsModule.judgeRecords;
  const judge = jest.spyOn(recordsModule, 'judgeRecords').mockImplementation(async (...args) => {
    events.push('write start');
    // A slow database: the first write lasts until the next batch reaches the model (or 5 s without overlap).
    await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 5000))]);
    await realJudge(...args);
    events.push('write end');
  });
  const realEmbed = scorer.embedPixels.bind(scorer);
  const embed = jest.spyOn(scorer, 'embedPixels').mockImplementation(async (...args) => {
    events.push('infer');
    if (++inferences === 2) secondInference();
    return realEmbed(...args);
  });
  try {
    await createScoreRecords(db, load)({ buildId: 'abs-5', range, clip: clipInput({ batchSize: 16 }) });
  } finally {
    judge.mockRestore();
    embed.mockRestore();
  }
  const firstWrite = events.indexOf('write start');
  const firstWriteEnd = events.indexOf('write end');
  expect(events.filter((e) => e === 'infer')).toHaveLength(3);
  expect(events.slice(firstWrite, firstWriteEnd)).toContain('infer');
  expect(await verdictsOf('abs-5')).toHaveLength(48);
});

describe('top-fraction threshold', () => {
  test('scores everything first, then keeps the best fraction of all descriptions', async () => {
    const range = await seed('top-1');
    const clip = clipInput({ mode: 'top-fraction', keepFraction: 0.25 });
    const scored = await createScoreRecords(db, load)({ buildId: 'top-1', range, clip });
    expect(scored).toMatchObject({ in: 48, kept: 0 });
    expect(await verdictsOf('top-1')).toHaveLength(0);

    const out = await createApplyClipThreshold(db)({ buildId: 'top-1', clip, modelId: scorer.modelId });
    expect(out.kept).toBe(12);
    expect(out.dropped).toEqual({ clip_below_threshold: 36 });
    const rows = await rowsOf('top-1');
    const sorted = rows.map((r) => r.score as number).sort((a, b) => b - a);
    expect(out.threshold).toMatchObject({
      mode: 'top-fraction',
      keepFraction: 0.25,
      perClass: false,
      threshold: sorted[11],
    });
    for (const r of rows) expect(r.status).toBe((r.score as number) >= sorted[11]! ? 'active' : 'dropped');

    const again = await createApplyClipThreshold(db)({ buildId: 'top-1', clip, modelId: scorer.modelId });
    expect(again.in).toBe(0);
    expect(await verdictsOf('top-1')).toHaveLength(48);
  });

  test('keeps the best fraction of each class with perClass', async () => {
    const range = await seed('top-2');
    const clip = clipInput({ mode: 'top-fraction', keepFraction: 0.5, perClass: true });
    await createScoreRecords(db, load)({ buildId: 'top-2', range, clip });
    const out = await createApplyClipThreshold(db)({ buildId: 'top-2', clip, modelId: scorer.modelId });
    const rows = await rowsOf('top-2');
    for (const cls of ['Bonafide', 'Print']) {
      const of = rows.filter((r) => r.className === cls);
      expect(of.filter((r) => r.status === 'active')).toHaveLength(Math.ceil(of.length / 2));
      expect(out.threshold.byClass[cls]).toBe(
        topFractionCutoff(
          of.map((r) => r.score as number),
          0.5,
        ),
      );
    }
    expect(out.threshold.threshold).toBeUndefined();
  });

  test('refuses settings that belong to the other mode', () => {
    expect(() => clipInput({ keepFraction: 0.3 })).toThrow(/clip\.mode/);
    expect(() => clipInput({ mode: 'top-fraction', classThresholds: { Print: 0.2 } })).toThrow(/clip\.classThresholds/);
    expect(clipInput({ mode: 'top-fraction' }).keepFraction).toBe(0.3);
    expect(clipInput({}).mode).toBe('absolute');
  });
});

describe('clipScoreStats', () => {
  test('reports per class the counts, quantiles, mean, histogram and the threshold applied', async () => {
    const range = await seed('stats-1', { corrupt: true });
    await createScoreRecords(db, load)({ buildId: 'stats-1', range, clip: clipInput({ threshold: 0.15 }) });
    const stats = await clipScoreStats(db, 'stats-1');
    const rows = await rowsOf('stats-1');
    expect(stats.model).toBe('fasforge-tiny-clip-standin');
    expect(stats.threshold).toEqual({
      mode: 'absolute',
      threshold: 0.15,
      perClass: false,
      byClass: { Bonafide: 0.15, Print: 0.15 },
    });
    expect(Object.keys(stats.byClass).sort()).toEqual(['Bonafide', 'Print']);
    for (const [cls, s] of Object.entries(stats.byClass)) {
      const scores = rows.filter((r) => r.className === cls && r.score !== null).map((r) => r.score as number);
      expect(s.scores?.count).toBe(scores.length);
      expect(s.scores?.min).toBeCloseTo(Math.min(...scores), 12);
      expect(s.scores?.max).toBeCloseTo(Math.max(...scores), 12);
      expect(s.scores?.mean).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / scores.length, 12);
      expect(s.kept).toBe(scores.filter((x) => x >= 0.15).length);
      expect(s.kept + s.dropped).toBe(scores.length);
      expect(s.scores?.histogram.counts.reduce((a, b) => a + b, 0)).toBe(scores.length);
    }
    expect(stats.byClass.Bonafide?.failed).toBe(4);
    expect(stats.all.scores?.count).toBe(44);
  });

  test('interpolates quantiles between order statistics and bins every value', () => {
    const d = distribution([0, 0.1, 0.2, 0.3, 0.4], [0, 0.2, 0.4]);
    expect(d).toMatchObject({ count: 5, min: 0, max: 0.4, median: 0.2, p25: 0.1, mean: 0.2 });
    expect(d?.p05).toBeCloseTo(0.02, 12);
    expect(d?.histogram.counts).toEqual([2, 3]);
    expect(distribution([], [])).toBeNull();
  });
});
