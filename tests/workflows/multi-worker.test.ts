/**
 * Several workers per task queue share one build: two `pipeline` and two `llm` workers (and one
 * `clip`) in one process, each counting the activities it ran through an activity interceptor.
 * Work must land on both workers of each queue, and no record may be processed twice: every
 * record row is unique and the simulator answered exactly one request per recorded model call.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { parseEnv } from '../../config/env';
import { queryRows } from '../../db/client';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { createWorkers, installRuntime, type Queue } from '../../workers/bootstrap';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../support/env';
import { makeFixtureSet, type FixtureSet } from '../support/fixtures';

jest.setTimeout(300_000);

let sim: RunningSimulator;
let fixture: FixtureSet;
let client: Client;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-multi-'));

beforeAll(async () => {
  installRuntime('WARN');
  // Some latency keeps a worker's one slot busy long enough for the other worker to take work.
  sim = await startSimulator({ seed: 'multi-worker-test', latencyMs: 40 });
  fixture = await makeFixtureSet();
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }) });
});

afterAll(async () => {
  await sim.close();
  fixture.cleanup();
  await client.connection.close();
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
  // One activity at a time per llm worker, so parallel batches must spread over both.
  const env = parseEnv({
    FASFORGE_HOME: home,
    DATABASE_URL: db.url,
    FASFORGE_VISION_BASE_URL: sim.url,
    FASFORGE_TEXT_BASE_URL: sim.url,
    FASFORGE_LLM_CONCURRENCY: '1',
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  // A connection per worker, as separate worker processes would have; the SDK refuses two workers
  // of one task queue on one connection.
  const connections: NativeConnection[] = [];
  const plan: [string, Queue][] = [
    ['pipeline-a', 'pipeline'],
    ['pipeline-b', 'pipeline'],
    ['llm-a', 'llm'],
    ['llm-b', 'llm'],
    ['clip-a', 'clip'],
  ];
  const ran = new Map(plan.map(([name]) => [name, new Map<string, number>()]));
  const workers = (
    await Promise.all(
      plan.map(async ([name, queue]) => {
        const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
        connections.push(connection);
        return createWorkers({
          env,
          database: db.database,
          connection,
          queues: [queue],
          workflowBundle: bundle,
          identity: `multi-worker-test ${name}`,
          activityInterceptors: [counter(ran.get(name)!)],
        });
      }),
    )
  ).flat();
  const running = workers.map((w) => w.run());
  try {
    const id = `test-multi-${Date.now()}`;
    const input = {
      name: 'multi-worker test',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
      generation: { batchSize: 1, parallelBatches: 4, concurrency: 1 },
      sft: { batchSize: 3, parallelBatches: 4, concurrency: 1 },
      clip: { threshold: 0.15 },
      review: { required: false },
      export: { dir: path.join(home, 'export-multi') },
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
    // Ids are unique by construction; work done twice would be the same job under another id.
    const [dup] = await queryRows<{ generated: string; augmented: string }>(
      db.database.db,
      sql`select
            (select count(*) from (select 1 from records where build_id = ${id} and origin = 'generated'
              group by image_seq, task having count(*) > 1) g) as generated,
            (select count(*) from (select 1 from records where build_id = ${id} and origin = 'augmented'
              group by parent_id having count(*) > 2) a) as augmented`,
    );
    expect({ generated: Number(dup!.generated), augmented: Number(dup!.augmented) }).toEqual({
      generated: 0,
      augmented: 0,
    });
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
    workers.forEach((w) => w.shutdown());
    await Promise.all(running);
    await Promise.all(connections.map((c) => c.close()));
    await db.drop();
  }
});
