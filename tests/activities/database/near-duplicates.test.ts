/**
 * Near-duplicate SFT pairs: the similarity, the indexed search against a brute-force reference,
 * and the database stage (buckets, boxes, retries) on a real PostgreSQL database.
 */
import { eq } from 'drizzle-orm';
import {
  dropNearDuplicates,
  findNearDuplicates,
  normalizeText,
  planNearDuplicateBuckets,
  similarity,
  type DedupeItem,
} from '../../../activities/database/near-duplicates';
import { readFunnel } from '../../../activities/database/funnel';
import { writeRecords, type RecordRow } from '../../../activities/database/records';
import type { Db } from '../../../db/client';
import { records, verdicts } from '../../../db/schema';
import { Prng } from '../../../simulator/prng';
import { seedImage, useTestDatabase } from '../../support/rows';
import { expectFunnelAddsUp } from '../../support/funnel';

const options = { threshold: 0.9, compare: 'answer' as const };
const item = (id: string, answer: string, question = 'Is the face real or fake?'): DedupeItem => ({
  id,
  question,
  answer,
});

const BASE =
  'This is a spoof face. The picture reveals a printed photograph held in front of the camera, with paper edges visible at the bottom.';

describe('similarity and normalisation', () => {
  test('ignores case, punctuation, typographic quotes and spacing', () => {
    expect(normalizeText('  The FACE\u2019s  "edges" — visible!\n')).toBe('the face s edges visible');
    expect(similarity(normalizeText('The face is REAL.'), normalizeText('the face is real'))).toBe(1);
  });

  test('is 1 − edit distance / longer length', () => {
    expect(similarity('abcd', 'abce')).toBeCloseTo(0.75);
    expect(similarity('', '')).toBe(1);
  });
});

describe('findNearDuplicates', () => {
  test('drops an exact copy and a one-word edit, naming the pair kept before them', () => {
    const out = findNearDuplicates(
      [
        item('a', BASE),
        item('b', BASE.toUpperCase()),
        item('c', BASE.replace('printed', 'printout')),
        item('d', 'The face in this picture is real, with natural skin texture and shading.'),
      ],
      options,
    );
    expect(out).toEqual([
      { id: 'a' },
      { id: 'b', duplicateOf: 'a', field: 'answer', similarity: 1 },
      { id: 'c', duplicateOf: 'a', field: 'answer', similarity: expect.any(Number) },
      { id: 'd' },
    ]);
    expect(out[2]!.similarity).toBeGreaterThanOrEqual(0.9);
  });

  test('keeps a pair just below the threshold and drops it just above', () => {
    const a = 'abcdefghij klmnopqrst uvwxyz0123 456789abcd';
    const b = `${a.slice(0, 39)}zzzz`; // 4 edits of 43 characters: 0.907
    expect(
      findNearDuplicates([item('a', a), item('b', b)], { threshold: 0.9, compare: 'answer' })[1]!.duplicateOf,
    ).toBe('a');
    expect(
      findNearDuplicates([item('a', a), item('b', b)], { threshold: 0.95, compare: 'answer' })[1]!.duplicateOf,
    ).toBeUndefined();
  });

  test('compares questions only when asked to: a repeated question alone is not a duplicate by default', () => {
    const items = [item('a', BASE), item('b', 'The face in this picture is real, with natural skin texture.')];
    expect(findNearDuplicates(items, options)[1]).toEqual({ id: 'b' });
    expect(findNearDuplicates(items, { threshold: 0.9, compare: 'question-or-answer' })[1]).toMatchObject({
      duplicateOf: 'a',
      field: 'question',
    });
    expect(findNearDuplicates(items, { threshold: 0.9, compare: 'pair' })[1]).toEqual({ id: 'b' });
  });

  test('prefers the most similar kept pair, then the earliest', () => {
    const x = BASE;
    const y = BASE.replace('camera', 'lens');
    const out = findNearDuplicates([item('x', x), item('y', `${y} Clearly.`), item('z', y)], {
      threshold: 0.85,
      compare: 'answer',
    });
    expect(out[1]).toMatchObject({ duplicateOf: 'x' });
    expect(out[2]).toMatchObject({ duplicateOf: 'x' });
  });

  test('finds exactly what comparing every pair finds, on 600 mutated texts', () => {
    const prng = new Prng('near-duplicates', 'corpus');
    const words =
      'face spoof real mask print paper replay screen edge light skin texture depth shade glare eye mouth'.split(' ');
    const sentence = (n: number) => Array.from({ length: n }, () => prng.pick(words)).join(' ');
    const mutate = (text: string, edits: number) => {
      const chars = [...text];
      for (let e = 0; e < edits; e++) chars[prng.int(chars.length)] = prng.pick(['a', 'e', 'x', ' ']);
      return chars.join('');
    };
    const seeds = Array.from({ length: 60 }, (_, i) => sentence(4 + (i % 30)));
    const items = Array.from({ length: 600 }, (_, i) => item(`r${i}`, mutate(prng.pick(seeds), prng.int(12))));
    for (const threshold of [0.75, 0.9, 0.97]) {
      const fast = findNearDuplicates(items, { threshold, compare: 'answer' });
      const slow = bruteForce(items, threshold);
      expect(fast.map((d) => d.duplicateOf ?? null)).toEqual(slow);
      expect(fast.filter((d) => d.duplicateOf).length).toBeGreaterThan(0);
      expect(fast.filter((d) => !d.duplicateOf).length).toBeGreaterThan(1);
    }
  });

  test('decides the same way every time', () => {
    const items = Array.from({ length: 50 }, (_, i) => item(`r${i}`, `${BASE} ${i % 7}`));
    expect(findNearDuplicates(items, options)).toEqual(findNearDuplicates(items, options));
  });
});

/** The reference: every item against every kept one, best similarity, earliest on ties. */
function bruteForce(items: DedupeItem[], threshold: number): (string | null)[] {
  const kept: { id: string; text: string }[] = [];
  return items.map((it) => {
    const text = normalizeText(it.answer);
    let best: { id: string; s: number } | undefined;
    for (const k of kept) {
      const s = similarity(text, k.text);
      if (s + 1e-9 >= threshold && (!best || s > best.s)) best = { id: k.id, s };
    }
    if (best) return best.id;
    kept.push({ id: it.id, text });
    return null;
  });
}

describe('the near-duplicate stage in the database', () => {
  let db: Db;
  useTestDatabase((testDb) => (db = testDb.database.db));

  const image = (buildId: string, className: string, n: number) =>
    seedImage(db, buildId, { className, relPath: `${className}/img-${n}.png` });

  const rec = (buildId: string, id: string, imageSeq: number, over: Partial<RecordRow>): RecordRow => ({
    id: `${buildId}:${id}`,
    buildId,
    imageSeq,
    set: 'sft',
    task: 'coarse',
    origin: 'generated',
    question: 'Is the face real or fake?',
    answer: BASE,
    status: 'active',
    stage: 'judge',
    ...over,
  });

  test('with class-task scope, drops near duplicates within a class and task only, never across boxes, naming the kept pair', async () => {
    const b = 'nd-bucket';
    const print1 = await image(b, 'Print', 1);
    const print2 = await image(b, 'Print', 2);
    const replay = await image(b, 'Replay', 1);
    const loc = (box: [number, number, number, number]) =>
      `The spoofing region is precisely identified at [${box.map((v) => v.toFixed(1)).join(', ')}]. The paper edge is visible.`;
    await writeRecords(
      db,
      b,
      [
        rec(b, 'p1', print1, { origin: 'augmented', answer: `${BASE}`, parentId: `${b}:p2` }),
        rec(b, 'p2', print2, {}),
        rec(b, 'p3', print2, { answer: BASE.replace('camera', 'lens') }),
        rec(b, 'p4', print1, { task: 'reasoning' }),
        rec(b, 'r1', replay, {}),
        rec(b, 'l1', print1, { task: 'localization', box: [10, 20, 110, 120], answer: loc([10, 20, 110, 120]) }),
        rec(b, 'l2', print2, { task: 'localization', box: [12, 20, 110, 120], answer: loc([12, 20, 110, 120]) }),
        rec(b, 'l3', print1, { task: 'localization', box: [10, 20, 110, 120], answer: loc([10, 20, 110, 120]) }),
        rec(b, 'gone', print1, { status: 'dropped', reason: 'judge_rejected' }),
      ].map((record) => ({ record, verdicts: [] })),
    );
    const buckets = await planNearDuplicateBuckets(db, { buildId: b });
    expect(buckets.map((x) => `${x.className}/${x.task}:${x.count}`).sort()).toEqual([
      'Print/coarse:3',
      'Print/localization:3',
      'Print/reasoning:1',
      'Replay/coarse:1',
    ]);
    const nearDuplicates = { enabled: true, threshold: 0.9, compare: 'answer' as const, scope: 'class-task' as const };
    const totals = [];
    for (const bucket of buckets) totals.push(await dropNearDuplicates(db, { buildId: b, bucket, nearDuplicates }));
    expect(totals.reduce((a, c) => a + c.in, 0)).toBe(8);

    const vs = await db.select().from(verdicts).where(eq(verdicts.buildId, b));
    const byId = Object.fromEntries(vs.map((v) => [v.recordId.slice(b.length + 1), v]));
    // Generated pairs are visited first, so the augmented copy is the one dropped.
    expect(byId.p2).toMatchObject({ verdict: 'kept' });
    expect(byId.p1).toMatchObject({
      verdict: 'dropped',
      reason: 'near_duplicate',
      detail: { duplicateOf: `${b}:p2`, field: 'answer' },
    });
    expect(byId.p3).toMatchObject({ verdict: 'dropped', detail: { duplicateOf: `${b}:p2` } });
    expect(byId.p4).toMatchObject({ verdict: 'kept' });
    expect(byId.r1).toMatchObject({ verdict: 'kept' });
    expect(byId.l1).toMatchObject({ verdict: 'kept' });
    expect(byId.l2).toMatchObject({ verdict: 'kept' });
    expect(byId.l3).toMatchObject({ verdict: 'dropped', detail: { duplicateOf: `${b}:l1` } });
    expect(byId.gone).toBeUndefined();
    const rows = await db.select().from(records).where(eq(records.buildId, b));
    expect(rows.find((r) => r.id === `${b}:p1`)).toMatchObject({
      status: 'dropped',
      reason: 'near_duplicate',
      stage: 'near_duplicate',
    });
    expect(rows.find((r) => r.id === `${b}:p2`)).toMatchObject({ status: 'active', stage: 'near_duplicate' });

    // A retry of every bucket reports the same counts and writes nothing more.
    const again = [];
    for (const bucket of buckets) again.push(await dropNearDuplicates(db, { buildId: b, bucket, nearDuplicates }));
    expect(again.map((c) => ({ ...c, alreadyDone: 0 }))).toEqual(totals.map((c) => ({ ...c, alreadyDone: 0 })));
    expect(again.reduce((a, c) => a + (c.alreadyDone ?? 0), 0)).toBe(8);
    expect(await db.select().from(verdicts).where(eq(verdicts.buildId, b))).toHaveLength(vs.length);

    const funnel = await readFunnel(db, b);
    expectFunnelAddsUp(funnel);
    expect(funnel.find((s) => s.stage === 'near_duplicate')).toEqual({
      stage: 'near_duplicate',
      in: 8,
      kept: 5,
      dropped: { near_duplicate: 3 },
      failed: {},
    });
  });

  test('with image scope, compares only the pairs about one image', async () => {
    const b = 'nd-image';
    const one = await image(b, 'Print', 1);
    const two = await image(b, 'Print', 2);
    await writeRecords(
      db,
      b,
      [
        rec(b, 'g1', one, {}),
        rec(b, 'a1', one, { origin: 'augmented', parentId: `${b}:g1`, answer: `In short, ${BASE.toLowerCase()}` }),
        rec(b, 'a2', one, {
          origin: 'augmented',
          parentId: `${b}:g1`,
          answer: 'The picture is a spoof: a paper photo is held up.',
        }),
        rec(b, 'g2', two, {}),
      ].map((record) => ({ record, verdicts: [] })),
    );
    const [bucket] = await planNearDuplicateBuckets(db, { buildId: b });
    const nearDuplicates = { enabled: true, threshold: 0.9, compare: 'answer' as const, scope: 'image' as const };
    const counts = await dropNearDuplicates(db, { buildId: b, bucket: bucket!, nearDuplicates });
    expect(counts).toMatchObject({ in: 4, kept: 3, dropped: { near_duplicate: 1 } });
    const vs = await db.select().from(verdicts).where(eq(verdicts.buildId, b));
    const byId = Object.fromEntries(vs.map((v) => [v.recordId.slice(b.length + 1), v]));
    expect(byId.a1).toMatchObject({ verdict: 'dropped', detail: { duplicateOf: `${b}:g1` } });
    expect(byId.g2).toMatchObject({ verdict: 'kept' });
  });
});
