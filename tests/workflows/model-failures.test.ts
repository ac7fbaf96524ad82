/**
 * Every model failure kind, injected by the simulator over real HTTP, through a whole build on a
 * real Temporal server and PostgreSQL: transient ones (429 with Retry-After, 500, a hang past the
 * client timeout) end with every record made; content ones end with the right counts and reasons
 * in the funnel, checked against the faults the simulator says it injected.
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client';
import { startSimulator, type SimulatorOptions } from '../../simulator';
import { createTestDatabase } from '../support/env';
import { expectFunnelAddsUp } from '../support/funnel';
import { envFor, startBuild, startWorkers, sum, type BuildResult, useBuildSuite } from '../support/model-build';

jest.setTimeout(300_000);

const suite = useBuildSuite({ fixture: true });

interface Run extends BuildResult {
  faults: Record<string, number>;
  byStatus: Record<string, number>;
  rows(query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]>;
}

/** One build over the fixture against a simulator with `faults`; the database is dropped afterwards. */
async function runWith(
  faults: SimulatorOptions,
  check: (run: Run) => Promise<void>,
  opts: {
    generation?: Record<string, unknown>;
    env?: Record<string, string>;
    sources?: unknown[];
    tasks?: string[];
  } = {},
): Promise<void> {
  const sim = await startSimulator({ seed: 'model-failures', ...faults });
  const db = await createTestDatabase();
  const workers = await startWorkers(suite.h, envFor(suite.h, db.url, sim, opts.env), db.database);
  try {
    const build = await startBuild(suite.h, {
      name: 'model failures',
      sources: opts.sources ?? [
        { name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco },
      ],
      ...(opts.tasks ? { tasks: opts.tasks } : {}),
      generation: { batchSize: 3, ...opts.generation },
      sft: { batchSize: 10 },
    });
    const result = await build.finish();
    expectFunnelAddsUp(result.out.funnel);
    const rows = (q: ReturnType<typeof sql>) => queryRows<Record<string, unknown>>(db.database.db, q);
    await check({ ...result, faults: sim.faults(), byStatus: sim.stats().byStatus, rows });
  } finally {
    await workers.stop();
    await sim.close();
    await db.drop();
  }
}

/** Every generation job made a record that passed generation and the label check. */
function expectAllMade(run: Run): void {
  expect(run.stage('generate')).toMatchObject({
    in: suite.fixture.expectedJobs,
    kept: suite.fixture.expectedJobs,
    failed: {},
    dropped: {},
  });
  expect(run.stage('label_check')).toMatchObject({
    in: suite.fixture.expectedJobs,
    kept: suite.fixture.expectedJobs,
    dropped: {},
  });
}

test('without faults every job is generated and passes the label check', async () => {
  await runWith({}, async (run) => {
    expectAllMade(run);
    expect(run.faults).toEqual({});
  });
});

test('429s are retried after their Retry-After and the build ends with every record made', async () => {
  await runWith({ rateLimitRate: 0.4, retryAfterSeconds: 1 }, async (run) => {
    expect(run.byStatus['429']).toBeGreaterThan(0);
    expectAllMade(run);
  });
});

test('500s are retried with backoff and the build ends with every record made', async () => {
  await runWith({ serverErrorRate: 0.4 }, async (run) => {
    expect(run.byStatus['500']).toBeGreaterThan(0);
    expectAllMade(run);
  });
});

test('a request hanging past the client timeout is retried and the build ends with every record made', async () => {
  await runWith(
    { timeoutRate: 0.1, hangMs: 60_000 },
    async (run) => {
      expect(run.faults['transport:timeout']).toBeGreaterThan(0);
      expectAllMade(run);
    },
    { env: { FASFORGE_MODEL_TIMEOUT_MS: '1000' } },
  );
});

test('malformed replies are repaired once; those still malformed fail with unparsable_output', async () => {
  await runWith({ malformedRate: 0.5 }, async (run) => {
    const repairs = run.faults['construction:malformed'] ?? 0;
    const stillBroken = run.faults['construction:repair:malformed'] ?? 0;
    expect(repairs).toBeGreaterThan(stillBroken);
    expect(stillBroken).toBeGreaterThan(0);
    expect(run.stage('generate')).toMatchObject({
      in: suite.fixture.expectedJobs,
      kept: suite.fixture.expectedJobs - stillBroken,
      failed: { unparsable_output: stillBroken },
    });
    const [failed] = await run.rows(
      sql`select count(*) as n from records where build_id = ${run.id} and status = 'failed' and reason = 'unparsable_output'`,
    );
    expect(Number(failed!.n)).toBe(stillBroken);
  });
});

test('with Vicuna-style completion requests, malformed replies are repaired as a further turn', async () => {
  await runWith(
    { malformedRate: 0.5 },
    async (run) => {
      const stillBroken = run.faults['construction:repair:malformed'] ?? 0;
      expect(run.faults['construction:malformed']).toBeGreaterThan(stillBroken);
      expect(run.stage('generate')).toMatchObject({
        in: suite.fixture.expectedJobs,
        kept: suite.fixture.expectedJobs - stillBroken,
        failed: stillBroken ? { unparsable_output: stillBroken } : {},
      });
    },
    { generation: { requestStyle: 'completion', responseFormat: 'text' } },
  );
});

test('refusals are dropped at the label check with reason answer_refuses', async () => {
  await runWith({ refusalRate: 0.3 }, async (run) => {
    const refused = run.faults['construction:refusal'] ?? 0;
    expect(refused).toBeGreaterThan(0);
    expect(run.stage('generate')).toMatchObject({ in: suite.fixture.expectedJobs, kept: suite.fixture.expectedJobs });
    expect(run.stage('label_check')).toMatchObject({
      kept: suite.fixture.expectedJobs - refused,
      dropped: { answer_refuses: refused },
    });
  });
});

test('answers that contradict the label are dropped with a reason per task', async () => {
  await runWith({ contradictionRate: 0.4 }, async (run) => {
    const contradicted = run.faults['construction:contradiction'] ?? 0;
    expect(contradicted).toBeGreaterThan(0);
    const check = run.stage('label_check')!;
    expect(check.kept).toBe(suite.fixture.expectedJobs - contradicted);
    expect(sum(check.dropped)).toBe(contradicted);
    const allowed = [
      'coarse_answer_contradicts_label',
      'fine_answer_names_an_attack',
      'fine_answer_names_another_class',
      'reasoning_conclusion_contradicts_label',
      'pretrain_description_contradicts_label',
      'localization_answer_has_no_box',
    ];
    for (const reason of Object.keys(check.dropped)) expect(allowed).toContain(reason);
  });
});

test('a localization box outside the image or off the ground truth is dropped with its reason', async () => {
  await runWith({ wrongBoxRate: 1 }, async (run) => {
    const wrong = run.faults['construction:wrong-box'] ?? 0;
    expect(wrong).toBe(suite.fixture.expectedJobs - 4 * 6);
    const check = run.stage('label_check')!;
    expect(sum(check.dropped)).toBe(wrong);
    for (const reason of Object.keys(check.dropped)) {
      expect(['localization_box_mismatch', 'localization_box_outside_image']).toContain(reason);
    }
  });
});

test('with inconsistent: reask, a contradicting answer is asked again once and kept when the second answer agrees', async () => {
  await runWith(
    { contradictionRate: 0.4, wrongBoxRate: 1 },
    async (run) => {
      const first = (run.faults['construction:contradiction'] ?? 0) + (run.faults['construction:wrong-box'] ?? 0);
      const second =
        (run.faults['construction:repair:contradiction'] ?? 0) + (run.faults['construction:repair:wrong-box'] ?? 0);
      expect(first).toBeGreaterThan(second);
      const check = run.stage('label_check')!;
      expect(sum(check.dropped)).toBe(second);
      expect(check.kept).toBe(suite.fixture.expectedJobs - second);
      const [reasked] = await run.rows(
        sql`select count(*) as n, count(*) filter (where verdict = 'kept') as kept from verdicts
            where build_id = ${run.id} and stage = 'label_check' and detail ? 'reasked'`,
      );
      expect(Number(reasked!.n)).toBe(first);
      expect(Number(reasked!.kept)).toBe(first - second);
    },
    { generation: { inconsistent: 'reask' } },
  );
});

test('attack images of a source without spoof regions count a dropped localization job each', async () => {
  await runWith(
    {},
    async (run) => {
      // The fixture holds four attack images and two bona fide ones.
      expect(run.stage('generate')).toMatchObject({ in: 6 + 4, kept: 6, dropped: { source_has_no_spoof_regions: 4 } });
    },
    { sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root }], tasks: ['coarse', 'localization'] },
  );
});
