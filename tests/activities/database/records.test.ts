/**
 * Record and verdict writes, batch planning and the funnel, on a real PostgreSQL database.
 */
import { eq } from 'drizzle-orm';
import {
  countVerdict,
  emptyBatch,
  existingIds,
  imagesInRange,
  judgeRecords,
  recordsAwaiting,
  writeRecords,
  type RecordRow,
  type Verdict,
} from '../../../activities/database/records';
import { planBatches } from '../../../activities/database/plan';
import { readFunnel, STAGE_ORDER } from '../../../activities/database/funnel';
import type { Db } from '../../../db/client';
import { images, records, verdicts } from '../../../db/schema';
import { useTestDatabase } from '../../support/rows';

let db: Db;
useTestDatabase((testDb) => (db = testDb.database.db));

/** Inserts image rows directly; returns their seqs in insertion order. */
async function addImages(buildId: string, statuses: string[]): Promise<number[]> {
  if (statuses.length === 0) return [];
  const rows = await db
    .insert(images)
    .values(
      statuses.map((status, i) => ({
        buildId,
        source: 'siw',
        adapter: 'siw-mv2',
        relPath: `Live/img-${i}.png`,
        absPath: `/data/siw/Live/img-${i}.png`,
        contentHash: `hash-${buildId}-${i}`,
        nativeLabel: 'Live',
        className: 'Bonafide',
        status,
        reason: status === 'ok' ? null : status === 'excluded' ? 'video_file' : 'corrupt_image',
      })),
    )
    .returning({ seq: images.seq });
  return rows.map((r) => r.seq);
}

function record(buildId: string, id: string, over: Partial<RecordRow> = {}): RecordRow {
  return {
    id,
    buildId,
    imageSeq: 1,
    set: 'sft',
    task: 'coarse',
    origin: 'generated',
    question: 'Is the face real?',
    answer: 'The face is real.',
    status: 'active',
    stage: 'label_check',
    ...over,
  };
}

const kept = (stage: string): Verdict => ({ stage, verdict: 'kept' });
const recordsOf = (buildId: string) =>
  db.select().from(records).where(eq(records.buildId, buildId)).orderBy(records.id);
const verdictsOf = (buildId: string) =>
  db.select().from(verdicts).where(eq(verdicts.buildId, buildId)).orderBy(verdicts.recordId, verdicts.stage);

describe('writeRecords', () => {
  test('writing the same rows twice leaves one record and one verdict per stage', async () => {
    const b = 'build-write-twice';
    const rows = [
      { record: record(b, `${b}:1:coarse`), verdicts: [kept('generate'), kept('label_check')] },
      {
        record: record(b, `${b}:2:coarse`, { status: 'dropped', reason: 'coarse_answer_contradicts_label' }),
        verdicts: [
          kept('generate'),
          { stage: 'label_check', verdict: 'dropped', reason: 'coarse_answer_contradicts_label' } as Verdict,
        ],
      },
    ];
    await writeRecords(db, b, rows);
    const firstRecords = await recordsOf(b);
    const firstVerdicts = await verdictsOf(b);
    await writeRecords(db, b, rows);
    expect(await recordsOf(b)).toEqual(firstRecords);
    expect(await verdictsOf(b)).toEqual(firstVerdicts);
    expect(firstRecords).toHaveLength(2);
    expect(firstVerdicts.map((v) => [v.recordId, v.stage, v.verdict, v.reason])).toEqual([
      [`${b}:1:coarse`, 'generate', 'kept', null],
      [`${b}:1:coarse`, 'label_check', 'kept', null],
      [`${b}:2:coarse`, 'generate', 'kept', null],
      [`${b}:2:coarse`, 'label_check', 'dropped', 'coarse_answer_contradicts_label'],
    ]);
  });

  test('stores the verdict detail as JSON', async () => {
    const b = 'build-write-detail';
    await writeRecords(db, b, [
      {
        record: record(b, `${b}:1:fine`, { status: 'failed', reason: 'unparsable_output' }),
        verdicts: [
          { stage: 'generate', verdict: 'failed', reason: 'unparsable_output', detail: { error: 'answer: Required' } },
        ],
      },
    ]);
    const [v] = await verdictsOf(b);
    expect(v?.detail).toEqual({ error: 'answer: Required' });
  });

  test('does nothing for no rows', async () => {
    await expect(writeRecords(db, 'build-write-empty', [])).resolves.toBeUndefined();
    expect(await recordsOf('build-write-empty')).toEqual([]);
  });
});

describe('judgeRecords', () => {
  const b = 'build-judge';
  const ids = { kept: `${b}:1:coarse`, dropped: `${b}:2:coarse`, failed: `${b}:3:coarse` };

  beforeAll(async () => {
    await writeRecords(
      db,
      b,
      Object.values(ids).map((id) => ({ record: record(b, id), verdicts: [kept('generate'), kept('label_check')] })),
    );
  });

  const judged = [
    { id: ids.kept, verdict: kept('special_words') },
    {
      id: ids.dropped,
      verdict: {
        stage: 'special_words',
        verdict: 'dropped',
        reason: 'special_words',
        detail: { phrase: 'I cannot' },
      } as Verdict,
    },
    { id: ids.failed, verdict: { stage: 'special_words', verdict: 'failed', reason: 'judge_unparsable' } as Verdict },
  ];

  test('moves dropped and failed records to their status and keeps the others active', async () => {
    await judgeRecords(db, b, judged);
    const byId = Object.fromEntries((await recordsOf(b)).map((r) => [r.id, r]));
    expect(byId[ids.kept]).toMatchObject({ status: 'active', stage: 'special_words', reason: null });
    expect(byId[ids.dropped]).toMatchObject({ status: 'dropped', stage: 'special_words', reason: 'special_words' });
    expect(byId[ids.failed]).toMatchObject({ status: 'failed', stage: 'special_words', reason: 'judge_unparsable' });
    const stageVerdicts = (await verdictsOf(b)).filter((v) => v.stage === 'special_words');
    expect(stageVerdicts.map((v) => [v.recordId, v.verdict])).toEqual([
      [ids.kept, 'kept'],
      [ids.dropped, 'dropped'],
      [ids.failed, 'failed'],
    ]);
  });

  test('a repeat of the same judgement changes nothing', async () => {
    const beforeRecords = await recordsOf(b);
    const beforeVerdicts = await verdictsOf(b);
    await judgeRecords(db, b, judged);
    expect(await recordsOf(b)).toEqual(beforeRecords);
    expect(await verdictsOf(b)).toEqual(beforeVerdicts);
  });

  test('does not move a record that has already left', async () => {
    await judgeRecords(db, b, [{ id: ids.dropped, verdict: kept('judge') }]);
    const [r] = await db.select().from(records).where(eq(records.id, ids.dropped));
    expect(r).toMatchObject({ status: 'dropped', stage: 'special_words' });
  });

  test('stores a clip score with the verdict', async () => {
    const c = 'build-judge-clip';
    await writeRecords(db, c, [
      { record: record(c, `${c}:1:pretrain`, { set: 'pretrain', task: 'pretrain' }), verdicts: [] },
    ]);
    await judgeRecords(db, c, [{ id: `${c}:1:pretrain`, verdict: kept('clip_filter'), clipScore: 0.31 }]);
    const [r] = await recordsOf(c);
    expect(r).toMatchObject({ status: 'active', stage: 'clip_filter', clipScore: 0.31 });
  });
});

describe('planBatches', () => {
  test.each([
    [10, 3],
    [9, 3],
    [1, 5],
    [7, 1],
    [25, 25],
    [26, 25],
  ])('splits %i live images into ceil(N/%i) contiguous ranges covering each exactly once', async (n, size) => {
    const b = `build-plan-${n}-${size}`;
    // Excluded and failed images, and another build's images, are interleaved with the live ones.
    const statuses = Array.from({ length: n }, (_v, i) =>
      i % 3 === 1 ? ['ok', 'excluded'] : i % 4 === 2 ? ['failed', 'ok'] : ['ok'],
    ).flat();
    const seqs = await addImages(b, statuses);
    await addImages(`${b}-other`, ['ok', 'ok']);
    const live = seqs.filter((_s, i) => statuses[i] === 'ok');
    expect(live).toHaveLength(n);

    const ranges = await planBatches(db, { buildId: b, kind: 'images', batchSize: size });
    expect(ranges).toHaveLength(Math.ceil(n / size));
    for (const [i, r] of ranges.entries()) {
      expect(r.count).toBeLessThanOrEqual(size);
      if (i < ranges.length - 1) expect(r.count).toBe(size);
      expect(r.from).toBeLessThanOrEqual(r.to);
      if (i > 0) expect(r.from).toBeGreaterThan(ranges[i - 1]!.to);
    }
    expect(ranges.reduce((s, r) => s + r.count, 0)).toBe(n);

    const covered: number[] = [];
    for (const r of ranges) {
      const rows = await imagesInRange(db, b, r);
      expect(rows).toHaveLength(r.count);
      covered.push(...rows.map((row) => row.seq));
    }
    expect(covered).toEqual(live);
  });

  test('plans nothing for a build with no live images', async () => {
    await addImages('build-plan-none', ['excluded', 'failed']);
    expect(await planBatches(db, { buildId: 'build-plan-none', kind: 'images', batchSize: 10 })).toEqual([]);
  });

  test('plans active records filtered by set and origin', async () => {
    const b = 'build-plan-records';
    const rows = [
      record(b, `${b}:1:pretrain`, { set: 'pretrain', task: 'pretrain' }),
      record(b, `${b}:1:coarse`),
      record(b, `${b}:1:fine`, { task: 'fine', status: 'dropped' }),
      record(b, `${b}:2:coarse`),
      record(b, `${b}:1:coarse:aug1`, { origin: 'augmented' }),
      record(b, `${b}:3:coarse`),
    ];
    for (const r of rows) await writeRecords(db, b, [{ record: r, verdicts: [] }]);
    const generatedSft = await planBatches(db, {
      buildId: b,
      kind: 'records',
      set: 'sft',
      origin: 'generated',
      batchSize: 2,
    });
    expect(generatedSft.map((r) => r.count)).toEqual([2, 1]);
    expect((await planBatches(db, { buildId: b, kind: 'records', set: 'sft', batchSize: 10 }))[0]?.count).toBe(4);
    expect((await planBatches(db, { buildId: b, kind: 'records', set: 'pretrain', batchSize: 10 }))[0]?.count).toBe(1);
    expect((await planBatches(db, { buildId: b, kind: 'records', batchSize: 10 }))[0]?.count).toBe(5);
  });
});

describe('recordsAwaiting and existingIds', () => {
  test('lists active records in range that lack a verdict for the stage, with their image', async () => {
    const b = 'build-awaiting';
    const [seq] = await addImages(b, ['ok']);
    await writeRecords(db, b, [
      { record: record(b, `${b}:a`, { imageSeq: seq! }), verdicts: [kept('special_words')] },
      { record: record(b, `${b}:b`, { imageSeq: seq! }), verdicts: [] },
      { record: record(b, `${b}:c`, { imageSeq: seq!, status: 'dropped' }), verdicts: [] },
    ]);
    const [range] = await planBatches(db, { buildId: b, kind: 'records', batchSize: 10 });
    const waiting = await recordsAwaiting(db, b, range!, 'special_words');
    expect(waiting.map((w) => w.record.id)).toEqual([`${b}:b`]);
    expect(waiting[0]!.image.seq).toBe(seq);
    expect(await existingIds(db, [`${b}:a`, `${b}:zzz`])).toEqual(new Set([`${b}:a`]));
    expect(await existingIds(db, [])).toEqual(new Set());
  });
});

describe('countVerdict', () => {
  test('adds each verdict to in and to its bucket', () => {
    const counts = emptyBatch();
    for (const v of [
      kept('x'),
      { stage: 'x', verdict: 'dropped', reason: 'r1' },
      { stage: 'x', verdict: 'dropped', reason: 'r1' },
      { stage: 'x', verdict: 'failed' },
    ] as Verdict[]) {
      countVerdict(counts, v);
    }
    expect(counts).toEqual({
      in: 4,
      kept: 1,
      dropped: { r1: 2 },
      failed: { unspecified: 1 },
      created: 0,
      alreadyDone: 0,
    });
  });
});

describe('readFunnel', () => {
  test('for each stage, in equals kept plus dropped plus failed, and stages come in pipeline order', async () => {
    const b = 'build-funnel';
    await addImages(b, ['ok', 'ok', 'ok', 'excluded', 'failed']);
    const v = (verdict: Verdict['verdict'], stage: string, reason?: string): Verdict => ({
      stage,
      verdict,
      ...(reason ? { reason } : {}),
    });
    await writeRecords(db, b, [
      {
        record: record(b, `${b}:1`),
        verdicts: [v('kept', 'generate'), v('kept', 'label_check'), v('kept', 'special_words'), v('kept', 'judge')],
      },
      {
        record: record(b, `${b}:2`),
        verdicts: [v('kept', 'generate'), v('dropped', 'label_check', 'coarse_answer_contradicts_label')],
      },
      { record: record(b, `${b}:3`), verdicts: [v('failed', 'generate', 'unparsable_output')] },
      {
        record: record(b, `${b}:4`),
        verdicts: [v('kept', 'generate'), v('kept', 'label_check'), v('dropped', 'special_words', 'special_words')],
      },
      {
        record: record(b, `${b}:5`),
        verdicts: [v('kept', 'generate'), v('kept', 'label_check'), v('kept', 'special_words'), v('failed', 'judge')],
      },
    ]);
    await addImages('build-funnel-other', ['ok']);

    const funnel = await readFunnel(db, b);
    expect(funnel.map((s) => s.stage)).toEqual(['ingest', 'generate', 'label_check', 'special_words', 'judge']);
    const ranks = funnel.map((s) => (STAGE_ORDER as readonly string[]).indexOf(s.stage));
    expect([...ranks].sort((x, y) => x - y)).toEqual(ranks);
    for (const s of funnel) {
      const sum = (o: Record<string, number>) => Object.values(o).reduce((a, n) => a + n, 0);
      expect(s.in).toBe(s.kept + sum(s.dropped) + sum(s.failed));
    }
    const byStage = Object.fromEntries(funnel.map((s) => [s.stage, s]));
    expect(byStage.ingest).toEqual({
      stage: 'ingest',
      in: 5,
      kept: 3,
      dropped: { video_file: 1 },
      failed: { corrupt_image: 1 },
    });
    expect(byStage.generate).toEqual({
      stage: 'generate',
      in: 5,
      kept: 4,
      dropped: {},
      failed: { unparsable_output: 1 },
    });
    expect(byStage.label_check).toEqual({
      stage: 'label_check',
      in: 4,
      kept: 3,
      dropped: { coarse_answer_contradicts_label: 1 },
      failed: {},
    });
    expect(byStage.special_words).toEqual({
      stage: 'special_words',
      in: 3,
      kept: 2,
      dropped: { special_words: 1 },
      failed: {},
    });
    expect(byStage.judge).toEqual({ stage: 'judge', in: 2, kept: 1, dropped: {}, failed: { unspecified: 1 } });
  });

  test('is empty for an unknown build', async () => {
    expect(await readFunnel(db, 'build-that-does-not-exist')).toEqual([]);
  });
});
