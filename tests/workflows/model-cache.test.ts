/**
 * The response cache across builds: a second build of the same configuration against the same
 * database sends no request at all, and its cache hits equal the first build's calls made. The
 * summary reports usage and cost per stage and model from the price table.
 */
import { createTestDatabase } from '../support/env';
import { envFor, startBuild, startWorkers, useBuildSuite } from '../support/model-build';

jest.setTimeout(300_000);

// Faults make the first build retry and repair; none of that may be paid again by the second.
const suite = useBuildSuite({
  simulator: { seed: 'model-cache', rateLimitRate: 0.2, malformedRate: 0.2, refusalRate: 0.1 },
  fixture: true,
});

test('a second build of the same configuration makes zero model calls: its cache hits equal the first build’s calls', async () => {
  const db = await createTestDatabase();
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, suite.sim), db.database);
  try {
    const input = {
      name: 'cache',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
      generation: { batchSize: 3 },
      sft: { batchSize: 10 },
    };
    const first = await (await startBuild(suite.h, input, 'cache-a')).finish();
    const requestsAfterFirst = suite.sim.stats().requests;
    const second = await (await startBuild(suite.h, input, 'cache-b')).finish();

    expect(first.summary.modelCalls.made).toBeGreaterThan(0);
    expect(first.summary.modelCalls.cacheHits).toBe(0);
    expect(second.summary.modelCalls.made).toBe(0);
    expect(second.summary.modelCalls.cacheHits).toBe(first.summary.modelCalls.made);
    expect(suite.sim.stats().requests).toBe(requestsAfterFirst);
    // The second build's records are the first build's, record for record.
    expect(second.out.counts).toEqual(first.out.counts);
    expect(second.out.funnel).toEqual(first.out.funnel);

    // Usage and cost: the simulator is priced at zero by config/prices.json, so the cost is known.
    const cost = first.summary.cost;
    expect(cost.total).toMatchObject({ calls: first.summary.modelCalls.made, usd: 0, unpricedCalls: 0 });
    expect(Object.keys(cost.byStage).sort()).toEqual(['generate', 'sft']);
    expect(Object.keys(cost.byModel).sort()).toEqual([
      'fasforge-simulator/bunny-llama-3-8b-v',
      'fasforge-simulator/llama-3-8b-instruct',
    ]);
    expect(first.summary.modelCalls.promptTokens).toBeGreaterThan(0);
    expect(second.summary.cost.total).toMatchObject({ calls: 0, cacheHits: first.summary.modelCalls.made, usd: 0 });
  } finally {
    await workers.stop();
    await db.drop();
  }
});
