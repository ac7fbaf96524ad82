/**
 * Several workers per task queue share one build: two `pipeline` and two `llm` workers (and one
 * `clip`) in one process, each counting the activities it ran through an activity interceptor.
 * Work must land on both workers of each queue, and no record may be processed twice: every
 * record row is unique and the simulator answered exactly one request per recorded model call.
 */
import path from 'node:path';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client';
import type { Queue } from '../../workers/bootstrap';
import { createTestDatabase } from '../support/env';
import { envFor, useBuildSuite } from '../support/model-build';
import { expectNoJobDoneTwice } from '../support/rows';
import { runWorkers } from '../support/workers';

jest.setTimeout(300_000);

// Some latency keeps a worker's one slot busy long enough for the other worker to take work.
const suite = useBuildSuite({
  simulator: { seed: 'multi-worker-test', latencyMs: 40 },
  fixture: true,
  homePrefix: 'fasforge-multi-',
});

/** Counts activities by type for one worker. */
function counter(ran: Map<string, number>): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        ran.set(ctx.info.activityType, (ran.get(ctx.info.activityType) ?? 0) + 1);
        return next(input);
      },
    },
  });
}

test('two pipeline and two llm workers share one build and process no record twice', async () => {
  const db = await createTestDatabase();
  const { sim, fixture, client } = suite;
  // One activity at a time per llm worker, so parallel batches must spread over both.
  const env = envFor(suite.h, db.url, sim, { FASFORGE_LLM_CONCURRENCY: '1' });
  // A connection per worker, as separate worker processes would have; the SDK refuses two workers
  // of one task queue on one connection.
  const plan: [string, Queue][] = [
    ['pipeline-a', 'pipeline'],
    ['pipeline-b', 'pipeline'],
    ['llm-a', 'llm'],
    ['llm-b', 'llm'],
    ['clip-a', 'clip'],
  ];
  const ran = new Map(plan.map(([name]) => [name, new Map<string, number>()]));
  const sets = await Promise.all(
    plan.map(([name, queue]) =>
      runWorkers({
        env,
        database: db.database,
        queues: [queue],
        workflowBundle: suite.bundle,
        identity: `multi-worker-test ${name}`,
        activityInterceptors: [counter(ran.get(name)!)],
      }),
    ),
  );
  try {
    const id = `test-multi-${Date.now()}`;
    const input = {
      name: 'multi-worker test',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
      generation: { batchSize: 1, parallelBatches: 4, concurrency: 1 },
      sft: { batchSize: 3, parallelBatches: 4, concurrency: 1 },
      clip: { threshold: 0.15 },
      review: { required: false },
      export: { dir: path.join(suite.home, 'export-multi') },
    };
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    await handle.result();

    const total = (name: string) => [...ran.get(name)!.values()].reduce((a, b) => a + b, 0);
    // Both workers of each shared queue ran activities.
    for (const name of ['pipeline-a', 'pipeline-b', 'llm-a', 'llm-b'])
      expect({ name, ran: total(name) > 0 }).toEqual({ name, ran: true });
    const generated = (ran.get('llm-a')!.get('generateRecords') ?? 0) + (ran.get('llm-b')!.get('generateRecords') ?? 0);
    // Six fixture images in batches of one: six generation activities in all, none run twice.
    expect(generated).toBe(6);

    const rows = await queryRows<{ n: string }>(
      db.database.db,
      sql`select count(*) as n from records where build_id = ${id}`,
    );
    expect(Number(rows[0]!.n)).toBeGreaterThan(fixture.expectedJobs);
    await expectNoJobDoneTwice(db.database.db, id);
    const generate = await queryRows<{ n: string }>(
      db.database.db,
      sql`select count(*) as n from verdicts where build_id = ${id} and stage = 'generate'`,
    );
    expect(Number(generate[0]!.n)).toBe(fixture.expectedJobs);
    // One simulator request per model call recorded for the build: nothing was asked twice.
    const calls = await queryRows<{ n: string; misses: string }>(
      db.database.db,
      sql`select count(*) as n, count(*) filter (where not cache_hit) as misses from model_calls where build_id = ${id}`,
    );
    expect(Number(calls[0]!.misses)).toBe(Number(calls[0]!.n));
    expect(sim.stats().requests).toBe(Number(calls[0]!.n));
  } finally {
    await Promise.all(sets.map((w) => w.stop()));
    await db.drop();
  }
});
