/**
 * The per-build budget: when the priced calls reach the cap, the build waits in stage `budget`
 * (its FasforgeStage search attribute says so) without sending more requests; a `raiseBudget`
 * signal with a higher cap resumes it, and it ends with every record made and nothing paid twice.
 */
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { createModelGateway } from '../../activities/model-api/gateway';
import { queryRows } from '../../db/client';
import type { BudgetProgress } from '../../workflows/messages';
import { createTestDatabase } from '../support/env';
import { envFor, startBuild, startWorkers, useBuildSuite } from '../support/model-build';

jest.setTimeout(300_000);

const suite = useBuildSuite({ simulator: { seed: 'model-budget' }, fixture: true });

// A price that makes one call cost about a dollar: an image alone is 576 prompt tokens.
const prices = {
  version: 'test',
  currency: 'USD' as const,
  models: { 'fasforge-simulator/*': { inputPerMTokens: 1000, outputPerMTokens: 1000 } },
};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a build that reaches its budget waits in stage budget until raiseBudget gives a new cap', async () => {
  const db = await createTestDatabase();
  const endpoint = {
    client: new OpenAI({ baseURL: suite.sim.url, apiKey: 'x', maxRetries: 0 }),
    envPrefix: 'FASFORGE_VISION',
  };
  const gateway = createModelGateway(db.database.db, { vision: endpoint, text: endpoint }, { prices });
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, suite.sim), db.database, gateway);
  try {
    const build = await startBuild(
      suite.h,
      {
        name: 'budget',
        sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
        generation: { batchSize: 3, concurrency: 2, parallelBatches: 1 },
        sft: { batchSize: 10 },
        budget: { maxUsd: 5 },
      },
      'budget',
    );
    const paused = await waitFor('the budget pause', async () => {
      const d = await build.handle.describe();
      return d.searchAttributes.FasforgeStage?.[0] === 'budget' ? d : undefined;
    });
    expect(paused.status.name).toBe('RUNNING');
    const budget = await build.handle.query<BudgetProgress>('budget');
    expect(budget).toMatchObject({ waiting: true, maxUsd: 5, pauses: 1 });
    // A call is refused once spending reaches the cap; calls already in flight (at most 2 here) may finish.
    expect(budget.spentUsd).toBeGreaterThanOrEqual(5);
    expect(budget.spentUsd).toBeLessThan(5 + 2 * 3);
    const requests = suite.sim.stats().requests;
    await new Promise((r) => setTimeout(r, 1500));
    expect(suite.sim.stats().requests).toBe(requests);

    // A cap below what is spent is ignored; a higher one resumes the build.
    await build.handle.signal('raiseBudget', { maxUsd: 1 });
    await build.handle.signal('raiseBudget', { maxUsd: 100_000 });
    const done = await build.finish();

    expect(done.stage('generate')).toMatchObject({ in: suite.fixture.expectedJobs, failed: {} });
    const cost = done.summary.cost;
    expect(cost.budget.maxUsd).toBe(100_000);
    expect(cost.total.unpricedCalls).toBe(0);
    expect(cost.total.usd).toBeCloseTo(cost.budget.spentUsd, 6);
    expect(cost.byStage.generate!.usd).toBeGreaterThan(0);
    // Nothing was paid twice: every request the simulator answered is one call made.
    expect(done.summary.modelCalls.made).toBe(suite.sim.stats().requests);
    expect(done.summary.modelCalls.cacheHits).toBe(0);
    const progress = await build.handle.query<{ stages: { stage: string; state: string }[] }>('progress');
    expect(progress.stages.filter((s) => s.stage === 'budget')).toEqual([expect.objectContaining({ state: 'done' })]);
  } finally {
    await workers.stop();
    await db.drop();
  }
});

test('a pause in the SFT stage resumes it without a duplicate record or a call paid twice', async () => {
  const db = await createTestDatabase();
  const endpoint = {
    client: new OpenAI({ baseURL: suite.sim.url, apiKey: 'x', maxRetries: 0 }),
    envPrefix: 'FASFORGE_TEXT',
  };
  // Only the text model costs money, so the cap is reached during augmentation and filtering.
  const textPriced = {
    ...prices,
    models: {
      'fasforge-simulator/llama-3-8b-instruct': { inputPerMTokens: 1000, outputPerMTokens: 1000 },
      'fasforge-simulator/*': { inputPerMTokens: 0, outputPerMTokens: 0 },
    },
  };
  const gateway = createModelGateway(db.database.db, { vision: endpoint, text: endpoint }, { prices: textPriced });
  const before = suite.sim.stats().requests;
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, suite.sim), db.database, gateway);
  try {
    const build = await startBuild(
      suite.h,
      {
        name: 'budget in sft',
        sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
        generation: { batchSize: 3 },
        sft: { batchSize: 5, concurrency: 1, parallelBatches: 1 },
        budget: { maxUsd: 3 },
      },
      'budget-sft',
    );
    await waitFor('the budget pause', async () => {
      const d = await build.handle.describe();
      return d.searchAttributes.FasforgeStage?.[0] === 'budget' ? d : undefined;
    });
    const progress = await build.handle.query<{ stages: { stage: string; state: string }[] }>('progress');
    expect(progress.stages.find((s) => s.stage === 'generate')).toMatchObject({ state: 'done' });
    await build.handle.signal('raiseBudget', { maxUsd: 100_000 });
    const done = await build.finish();

    expect(done.summary.cost.byStage.sft!.usd).toBeGreaterThan(3);
    expect(done.summary.cost.byStage.generate!.usd).toBe(0);
    expect(done.summary.modelCalls.made).toBe(suite.sim.stats().requests - before);
    const [rows] = await queryRows<{ n: string; ids: string; verdicts: string; pairs: string }>(
      db.database.db,
      sql`select (select count(*) from records where build_id = ${build.id}) as n,
                 (select count(distinct id) from records where build_id = ${build.id}) as ids,
                 (select count(*) from verdicts where build_id = ${build.id}) as verdicts,
                 (select count(distinct (record_id, stage)) from verdicts where build_id = ${build.id}) as pairs`,
    );
    expect(rows!.n).toBe(rows!.ids);
    expect(rows!.verdicts).toBe(rows!.pairs);
  } finally {
    await workers.stop();
    await db.drop();
  }
});
