/**
 * The review gate's database writes on a real PostgreSQL database: decisions are written once
 * however often an activity is retried, rejections drop their record, revisions keep the original.
 */
import { eq, sql } from 'drizzle-orm';
import {
  dropUnreviewed,
  listReviewItems,
  recordApproval,
  recordReviewDecisions,
  reviewLineage,
  textDiff,
} from '../../../activities/database/review';
import { queryRows, type Db } from '../../../db/client';
import { records, reviewDecisions, verdicts } from '../../../db/schema';
import { boxesIn, durationMs, sameBox } from '../../../workflows/review-rules';
import { seedImage, useTestDatabase } from '../../support/rows';

let db: Db;
useTestDatabase((testDb) => (db = testDb.database.db));

const CLASSES = ['Bonafide', 'Print', 'Replay'];

/** One image per class with three coarse records each; returns the record ids in seq order. */
async function seed(buildId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, className] of CLASSES.entries()) {
    const seq = await seedImage(db, buildId, { className, relPath: `${className}/img-${i}.png` });
    for (let k = 0; k < 3; k++) {
      const id = `${buildId}:${seq}:coarse:${k}`;
      ids.push(id);
      await db.insert(records).values({
        id,
        buildId,
        imageSeq: seq,
        set: 'sft',
        task: 'coarse',
        origin: 'generated',
        question: `Is face ${id} real?`,
        answer: `It is ${className}.`,
        status: 'active',
        stage: 'judge',
      });
    }
  }
  return ids;
}

test('a decision batch written twice leaves one row per record; rejection drops, revision keeps the original', async () => {
  const ids = await seed('b1');
  const input = {
    buildId: 'b1',
    reviewer: 'ana',
    decidedAt: '2026-01-02T03:04:05.000Z',
    decisions: [
      { id: ids[0]!, decision: 'approve' as const },
      { id: ids[1]!, decision: 'reject' as const, reason: 'hedged answer' },
      { id: ids[2]!, decision: 'revise' as const, answer: 'It is Bonafide, a live face.' },
    ],
  };
  expect(await recordReviewDecisions(db, input)).toEqual({ written: 3 });
  expect(await recordReviewDecisions(db, input)).toEqual({ written: 0 });

  const rows = await db.select().from(reviewDecisions).where(eq(reviewDecisions.buildId, 'b1'));
  expect(rows).toHaveLength(3);
  const revised = rows.find((r) => r.recordId === ids[2])!;
  expect(revised).toMatchObject({
    beforeAnswer: 'It is Bonafide.',
    afterAnswer: 'It is Bonafide, a live face.',
    reviewer: 'ana',
  });
  expect(revised.decidedAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  expect(revised.diff).toMatchObject({ question: null, answer: { at: 14, removed: '', added: ', a live face' } });

  const [dropped] = await db.select().from(records).where(eq(records.id, ids[1]!));
  expect(dropped).toMatchObject({ status: 'dropped', stage: 'review', reason: 'rejected_by_reviewer' });
  const [edited] = await db.select().from(records).where(eq(records.id, ids[2]!));
  expect(edited).toMatchObject({
    status: 'active',
    answer: 'It is Bonafide, a live face.',
    question: `Is face ${ids[2]} real?`,
  });
  const vs = await db.select().from(verdicts).where(eq(verdicts.buildId, 'b1'));
  expect(vs.map((v) => [v.recordId, v.verdict, v.reason]).sort()).toEqual(
    [
      [ids[0], 'kept', null],
      [ids[1], 'dropped', 'rejected_by_reviewer'],
      [ids[2], 'kept', null],
    ].sort(),
  );

  const lineage = await reviewLineage(db, ids);
  expect(lineage.get(ids[2]!)).toMatchObject({ decision: 'revise', original: { answer: 'It is Bonafide.' } });
  expect(lineage.has(ids[3]!)).toBe(false);
});

test('decisions naming a record of another build are refused without writing anything', async () => {
  const ids = await seed('b2');
  await expect(
    recordReviewDecisions(db, {
      buildId: 'b2',
      reviewer: 'ana',
      decisions: [
        { id: ids[0]!, decision: 'approve' },
        { id: 'b1:1:coarse:0', decision: 'approve' },
      ],
    }),
  ).rejects.toThrow(/build b2 does not hold: b1:1:coarse:0/);
  const [n] = await queryRows<{ n: string }>(db, sql`select count(*) as n from review_decisions where build_id = 'b2'`);
  expect(Number(n!.n)).toBe(0);
});

test('a seeded sample takes the same records per class every time, and pages through them', async () => {
  await seed('b3');
  const sample = { perClass: 2, seed: 's1' };
  const all = await listReviewItems(db, { buildId: 'b3', afterSeq: 0, limit: 100, sample });
  expect(all.items).toHaveLength(6);
  for (const c of CLASSES) expect(all.items.filter((i) => i.class === c)).toHaveLength(2);
  expect((await listReviewItems(db, { buildId: 'b3', afterSeq: 0, limit: 100, sample })).items).toEqual(all.items);
  const first = await listReviewItems(db, { buildId: 'b3', afterSeq: 0, limit: 4, sample });
  expect(first.nextAfterSeq).toBeDefined();
  const rest = await listReviewItems(db, { buildId: 'b3', afterSeq: first.nextAfterSeq!, limit: 4, sample });
  expect([...first.items, ...rest.items]).toEqual(all.items);
  expect(rest.nextAfterSeq).toBeUndefined();
  const unsampled = await listReviewItems(db, { buildId: 'b3', afterSeq: 0, limit: 100 });
  expect(unsampled.items).toHaveLength(9);
});

test('a timeout release drops only unreviewed records, and the approval verdict leaves decided ones alone', async () => {
  const ids = await seed('b4');
  await recordReviewDecisions(db, {
    buildId: 'b4',
    reviewer: 'ana',
    decisions: [
      { id: ids[0]!, decision: 'approve' },
      { id: ids[1]!, decision: 'reject', reason: 'wrong class' },
    ],
  });
  expect(await dropUnreviewed(db, 'b4')).toEqual({ dropped: 7 });
  expect(await dropUnreviewed(db, 'b4')).toEqual({ dropped: 0 });
  await recordApproval(db, 'b4', 'timeout');
  const rows = await queryRows<{ status: string; reason: string | null; n: string }>(
    db,
    sql`select status, reason, count(*) as n from records where build_id = 'b4' group by 1, 2 order by 1, 2`,
  );
  expect(rows.map((r) => [r.status, r.reason, Number(r.n)])).toEqual([
    ['active', null, 1],
    ['dropped', 'rejected_by_reviewer', 1],
    ['dropped', 'unreviewed', 7],
  ]);
  const [v] = await queryRows<{ n: string }>(
    db,
    sql`select count(*) as n from verdicts where build_id = 'b4' and stage = 'review'`,
  );
  expect(Number(v!.n)).toBe(9);
});

test('box and duration rules', () => {
  expect(boxesIn('at [40.0, 50.0, 120.0, 80.0] and [1,2,3,4]')).toEqual([
    [40, 50, 120, 80],
    [1, 2, 3, 4],
  ]);
  expect(sameBox([40, 50, 120, 80], [40.02, 50, 120, 80])).toBe(true);
  expect(sameBox([40, 50, 120, 80], [41, 50, 120, 80])).toBe(false);
  expect(durationMs('90s')).toBe(90_000);
  expect(durationMs('7d')).toBe(7 * 86_400_000);
  expect(() => durationMs('soon')).toThrow('not a duration');
  expect(textDiff('abc', 'abc')).toBeNull();
  expect(textDiff('the cat sat', 'the dog sat')).toEqual({ at: 4, removed: 'cat', added: 'dog', distance: 3 });
});
