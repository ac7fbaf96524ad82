/**
 * The whole build DAG on a real Temporal dev server and a real PostgreSQL database, with the
 * project's model simulator over HTTP and the stand-in CLIP model in onnxruntime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { ExportOutput, FunnelStage } from '../../activities/contracts';
import { createModelGateway, type ModelGateway } from '../../activities/model-api/gateway';
import { queryRows } from '../../db/client';
import type { ReviewProgress } from '../../workflows/messages';
import { createTestDatabase } from '../support/env';
import { expectFunnelAddsUp } from '../support/funnel';
import { readLlava } from '../support/llava';
import { envFor, startWorkers, useBuildSuite } from '../support/model-build';
import OpenAI from 'openai';

jest.setTimeout(240_000);

const suite = useBuildSuite({
  simulator: { seed: 'workflow-test', rateLimitRate: 0.05, retryAfterSeconds: 1 },
  fixture: { corrupt: true },
  homePrefix: 'fasforge-home-',
});

const buildInput = (exportDir: string) => ({
  name: 'workflow test',
  sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
  generation: { batchSize: 2 },
  sft: { batchSize: 5 },
  clip: { threshold: 0.15 },
  export: { dir: exportDir },
});

async function waitForReview(id: string): Promise<ReviewProgress> {
  for (let i = 0; i < 600; i++) {
    const r = await suite.client.workflow.getHandle(id).query<ReviewProgress>('reviewProgress');
    if (r.waiting) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('the build never reached the review gate');
}

test('builds the whole DAG, waits at the review gate, and exports LLaVA files after approval', async () => {
  const db = await createTestDatabase();
  const { client, home } = suite;
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, suite.sim), db.database);
  const exportDir = path.join(home, 'export-dag');
  try {
    const id = `test-dag-${Date.now()}`;
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [buildInput(exportDir)],
    });

    const review = await waitForReview(id);
    expect(review.pending).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(exportDir, 'summary.json'))).toBe(false);
    const described = await handle.describe();
    expect(described.searchAttributes.FasforgeStage).toEqual(['review']);

    await handle.signal('approveReview', { reviewer: 'test reviewer', note: 'looks right' });
    const out = (await handle.result()) as ExportOutput;

    const pretrain = readLlava(exportDir, 'pretrain.json');
    const sft = readLlava(exportDir, 'sft.json');
    expect(pretrain.length).toBeGreaterThan(0);
    expect(sft.length).toBeGreaterThan(0);
    const summary = JSON.parse(fs.readFileSync(path.join(exportDir, 'summary.json'), 'utf8'));
    const tasks = new Set([...Object.keys(summary.counts.pretrain.byTask), ...Object.keys(summary.counts.sft.byTask)]);
    expect([...tasks].sort()).toEqual(['coarse', 'fine', 'localization', 'pretrain', 'reasoning']);
    expect(summary.models.vision.served).toEqual(['fasforge-simulator/bunny-llama-3-8b-v']);
    expect(summary.models.clip).toMatchObject({ modelId: 'fasforge-tiny-clip-standin', standIn: true });
    expect(summary.review.reviewer).toBe('test reviewer');
    expect(summary.modelCalls.made).toBeGreaterThan(0);
    expectFunnelAddsUp(summary.funnel);
    const ingest = summary.funnel.find((s: FunnelStage) => s.stage === 'ingest');
    expect(ingest).toMatchObject({ in: 7, kept: 6, failed: { corrupt_image: 1 } });
    expect(out.counts).toEqual({ pretrain: pretrain.length, sft: sft.length });

    // Every augmented record names a parent that exists in the build.
    const orphans = await queryRows<{ n: string }>(
      db.database.db,
      sql`select count(*) as n from records c where c.build_id = ${id} and c.origin = 'augmented'
          and not exists (select 1 from records p where p.id = c.parent_id)`,
    );
    expect(Number(orphans[0]!.n)).toBe(0);
  } finally {
    await workers.stop();
    await db.drop();
  }
});

test('an activity that fails once mid-batch is retried without a duplicate or a missing row', async () => {
  const db = await createTestDatabase();
  const { sim, fixture, client, home } = suite;
  const endpoint = {
    client: new OpenAI({ baseURL: sim.url, apiKey: 'x', maxRetries: 0 }),
    envPrefix: 'FASFORGE_VISION',
  };
  const real = createModelGateway(db.database.db, { vision: endpoint, text: endpoint });
  let calls = 0;
  let injected = 0;
  const flaky: ModelGateway = {
    async complete(buildId, request) {
      calls += 1;
      if (calls === 3) {
        injected += 1;
        throw new Error('connection reset by peer (injected)');
      }
      return real.complete(buildId, request);
    },
  };
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, sim), db.database, flaky);
  try {
    const id = `test-retry-${Date.now()}`;
    const input = {
      ...buildInput(path.join(home, 'export-retry')),
      generation: { batchSize: 6, concurrency: 1 },
      review: { required: false },
    };
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    await handle.result();
    expect(injected).toBe(1);

    const rows = await queryRows<{ n: string; distinct_ids: string }>(
      db.database.db,
      sql`select count(*) as n, count(distinct id) as distinct_ids from records where build_id = ${id} and origin = 'generated'`,
    );
    expect(Number(rows[0]!.n)).toBe(fixture.expectedJobs);
    expect(Number(rows[0]!.distinct_ids)).toBe(fixture.expectedJobs);
    const verdicts = await queryRows<{ n: string }>(
      db.database.db,
      sql`select count(*) as n from verdicts where build_id = ${id} and stage = 'generate'`,
    );
    expect(Number(verdicts[0]!.n)).toBe(fixture.expectedJobs);
    // The generate stage's child workflow records the activity's final attempt number.
    const history = await client.workflow.getHandle(`${id}:generate`).fetchHistory();
    const failedAttempts = history.events?.filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(failedAttempts?.length).toBeGreaterThanOrEqual(1);
  } finally {
    await workers.stop();
    await db.drop();
  }
});
