/**
 * The generation activity against real PostgreSQL with a scripted gateway: every job of a batch is
 * written even when calls finish out of order around the grouped record writes, an inconsistent
 * answer is re-asked with its reason when the build says so, and a transient failure is rethrown
 * only after the finished records are stored.
 */
import { sql } from 'drizzle-orm';
import { loadAssets } from '../../../config/assets';
import { parseBuildInput } from '../../../config/build-input';
import { queryRows, type Db } from '../../../db/client';
import { images } from '../../../db/schema';
import type { GenerateInput } from '../../../activities/contracts';
import { createGenerateRecords } from '../../../activities/model-api/generate';
import type { ModelGateway, ModelRequest } from '../../../activities/model-api/gateway';
import { createTestDatabase } from '../../support/env';

const assets = loadAssets();
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
});
afterAll(async () => testDb?.drop());

async function addImages(buildId: string, classes: string[]): Promise<{ from: number; to: number; count: number }> {
  const rows = await db
    .insert(images)
    .values(
      classes.map((className, i) => ({
        buildId,
        source: 'fixture',
        adapter: 'siw-mv2',
        relPath: `${className}/${i}.png`,
        absPath: `/nonexistent/${i}.png`,
        contentHash: `${buildId}-${i}`,
        nativeLabel: className,
        className,
        width: 200,
        height: 200,
        status: 'ok',
      })),
    )
    .returning({ seq: images.seq });
  const seqs = rows.map((r) => r.seq);
  return { from: Math.min(...seqs), to: Math.max(...seqs), count: seqs.length };
}

/** Answers that agree with the label the prompt states, after a call-specific number of event-loop turns. */
function scriptedGateway(answer: (r: ModelRequest, call: number) => string): ModelGateway & { calls: ModelRequest[] } {
  const calls: ModelRequest[] = [];
  return {
    calls,
    async complete(_buildId, request) {
      const call = calls.push(request);
      for (let i = 0; i < (call * 7) % 5; i++) await new Promise((r) => setImmediate(r));
      return { content: answer(request, call), servedModel: 'scripted', cacheHit: false, cacheKey: String(call) };
    },
  };
}

const agreeing = (r: ModelRequest) => {
  const spoof = /This is a spoof face picture/i.test(r.prompt);
  return JSON.stringify({
    question: 'Is the face in this picture real or fake?',
    answer: spoof ? 'The face is a spoof: a printed photograph is presented to the camera.' : 'The face is real.',
  });
};

function input(
  buildId: string,
  range: GenerateInput['range'],
  generation: Record<string, unknown> = {},
): GenerateInput {
  const parsed = parseBuildInput({ sources: [{ name: 'fixture', adapter: 'siw-mv2', root: '/x' }], generation });
  return { buildId, range, tasks: ['coarse'], generation: parsed.generation, model: 'm' };
}

test('every job is written when calls finish out of order around grouped writes', async () => {
  // Regression: a row pushed into the group that a concurrent write had just taken was lost.
  const range = await addImages(
    'b-order',
    Array.from({ length: 23 }, (_, i) => (i % 2 ? 'Print' : 'Bonafide')),
  );
  const gateway = scriptedGateway(agreeing);
  const counts = await createGenerateRecords({ db, gateway, ...assets })(input('b-order', range, { concurrency: 6 }));
  expect(counts).toMatchObject({ in: 23, kept: 23, alreadyDone: 0 });
  const [row] = await queryRows<{ n: string }>(db, sql`select count(*) as n from records where build_id = 'b-order'`);
  expect(Number(row!.n)).toBe(23);
});

test('with inconsistent: reask, a contradicting answer is asked again with the reason and kept when it agrees', async () => {
  const range = await addImages('b-reask', ['Print']);
  const gateway = scriptedGateway((r, call) =>
    call === 1 ? JSON.stringify({ question: 'Real or fake?', answer: 'The face is real.' }) : agreeing(r),
  );
  const counts = await createGenerateRecords({ db, gateway, ...assets })(
    input('b-reask', range, { inconsistent: 'reask' }),
  );
  expect(counts).toMatchObject({ in: 1, kept: 1 });
  expect(gateway.calls).toHaveLength(2);
  expect(gateway.calls[1]!.history?.[1]?.content).toMatch(
    /contradicts the picture, which shows a spoof face \(Print\)/,
  );
  const [v] = await queryRows<{ verdict: string; detail: { reasked?: string } }>(
    db,
    sql`select verdict, detail from verdicts where build_id = 'b-reask' and stage = 'label_check'`,
  );
  expect(v).toEqual({ verdict: 'kept', detail: { reasked: 'coarse_answer_contradicts_label' } });
});

test('with inconsistent: drop, the same answer is dropped with its reason and not asked again', async () => {
  const range = await addImages('b-drop', ['Print']);
  const gateway = scriptedGateway(() => JSON.stringify({ question: 'Real or fake?', answer: 'The face is real.' }));
  const counts = await createGenerateRecords({ db, gateway, ...assets })(input('b-drop', range));
  expect(counts).toMatchObject({ in: 1, kept: 0, dropped: { coarse_answer_contradicts_label: 1 } });
  expect(gateway.calls).toHaveLength(1);
});

test('a transient failure is rethrown after the finished records are stored, and the retry asks only for the rest', async () => {
  const range = await addImages('b-transient', ['Print', 'Print', 'Bonafide', 'Print', 'Bonafide']);
  let failed = false;
  const flaky = scriptedGateway(agreeing);
  const gateway: ModelGateway = {
    async complete(buildId, request) {
      if (!failed && flaky.calls.length === 2) {
        failed = true;
        throw new Error('connection reset (scripted)');
      }
      return flaky.complete(buildId, request);
    },
  };
  const run = createGenerateRecords({ db, gateway, ...assets });
  await expect(run(input('b-transient', range))).rejects.toThrow('connection reset');
  const [stored] = await queryRows<{ n: string }>(
    db,
    sql`select count(*) as n from records where build_id = 'b-transient'`,
  );
  expect(Number(stored!.n)).toBe(4);
  const retry = await run(input('b-transient', range));
  expect(retry).toMatchObject({ in: 1, kept: 1, alreadyDone: 4 });
});
