/**
 * SFT quality end to end, on a real Temporal dev server and PostgreSQL with the model simulator
 * injecting refusals and contradictions: nothing the filters reject reaches the export, the
 * funnel adds up at every stage (live, at the review gate and in summary.json), augmented pairs
 * name parents that exist, both filter orders run, and the SFT child continues as new.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { FunnelStage } from '../../activities/contracts';
import { readFunnel } from '../../activities/database/funnel';
import { createSpecialWordsFilter } from '../../activities/model-api/special-words';
import { findClass, loadAssets } from '../../config/assets';
import { queryRows, type Db } from '../../db/client';
import { isRefusal } from '../../simulator/answer-analysis';
import { judgePair } from '../../simulator/judge';
import { QUEUES } from '../../workers/bootstrap';
import type { BuildProgress, ReviewProgress, StageProgress } from '../../workflows/messages';
import { createTestDatabase } from '../support/env';
import { expectFunnelAddsUp } from '../support/funnel';
import { readLlava } from '../support/llava';
import { envFor, useBuildSuite } from '../support/model-build';
import { runWorkers } from '../support/workers';

jest.setTimeout(300_000);

const SAMPLES = path.join(__dirname, '..', '..', 'samples');
const assets = loadAssets();
const suite = useBuildSuite({
  simulator: { seed: 'sft-quality', refusalRate: 0.1, contradictionRate: 0.1 },
  fixture: true,
  homePrefix: 'fasforge-sft-',
});

async function withWorkers<T>(run: (db: Db) => Promise<T>): Promise<T> {
  const testDb = await createTestDatabase();
  const env = envFor(suite.h, testDb.url, suite.sim);
  const workers = await runWorkers({ env, database: testDb.database, queues: QUEUES, workflowBundle: suite.bundle });
  try {
    return await run(testDb.database.db);
  } finally {
    await workers.stop();
    await testDb.drop();
  }
}

const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const stageOf = (funnel: FunnelStage[], stage: string) => funnel.find((s) => s.stage === stage);

/** The exported SFT pairs with each one's class, parent and verdicts, from the database. */
async function exportedSft(db: Db, buildId: string, dir: string) {
  const sft = readLlava(dir, 'sft.json');
  const ids = sft.map((r) => r.id);
  const rows = await queryRows<{
    id: string;
    origin: string;
    parent_id: string | null;
    class_name: string;
    judge: string | null;
    words: string | null;
  }>(
    db,
    sql`select r.id, r.origin, r.parent_id, i.class_name,
               (select verdict from verdicts v where v.record_id = r.id and v.stage = 'judge') as judge,
               (select verdict from verdicts v where v.record_id = r.id and v.stage = 'special_words') as words
          from records r join images i on i.seq = r.image_seq where r.build_id = ${buildId}`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return { sft, ids, byId };
}

test('with 10% refusals and contradictions, the export holds no refusal and no pair the judge rejects, and the funnel adds up', async () => {
  await withWorkers(async (db) => {
    const id = `sft-quality-${Date.now()}`;
    const dir = path.join(suite.home, id);
    const input = {
      name: 'sft quality',
      sources: [
        {
          name: 'samples',
          adapter: 'siw-mv2',
          root: path.join(SAMPLES, 'siw-mv2'),
          spoofRegions: path.join(SAMPLES, 'siw-mv2', 'spoof-regions.coco.json'),
        },
      ],
      generation: { batchSize: 10 },
      sft: { batchSize: 20, judgeSeesLabel: true },
      export: { dir },
    };
    const handle = await suite.client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });

    // Live: every funnel the progress query shows while the build runs adds up.
    const seen: FunnelStage[][] = [];
    let review: ReviewProgress | undefined;
    for (let i = 0; i < 1200 && !review?.waiting; i++) {
      const p = await handle.query<BuildProgress>('progress');
      if (p.funnel) seen.push(p.funnel);
      review = await handle.query<ReviewProgress>('reviewProgress');
      if (!review.waiting) await new Promise((r) => setTimeout(r, 250));
    }
    expect(review?.waiting).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    seen.forEach(expectFunnelAddsUp);

    // At the gate the query's funnel is the database's.
    const atGate = await handle.query<BuildProgress>('progress');
    expect(atGate.funnel).toEqual(await readFunnel(db, id));
    const sftChild = await suite.client.workflow.getHandle(`${id}:sft`).result();
    expect((sftChild as StageProgress[]).map((s) => s.stage)).toEqual([
      'augment',
      'sft_filter',
      'near_duplicate',
      'selection',
    ]);

    await handle.signal('approveReview', { reviewer: 'sft test' });
    await handle.result();

    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const funnel: FunnelStage[] = summary.funnel;
    expectFunnelAddsUp(funnel);
    for (const stage of ['augment', 'augment_check', 'special_words', 'judge', 'near_duplicate', 'selection']) {
      expect(stageOf(funnel, stage)?.in).toBeGreaterThan(0);
    }
    // The simulator's faults were really injected, and caught.
    expect(stageOf(funnel, 'special_words')!.dropped.special_words).toBeGreaterThan(0);
    expect(stageOf(funnel, 'judge')!.dropped.judge_rejected).toBeGreaterThan(0);
    // Every SFT pair that reached a stage got exactly one verdict there.
    const judged = stageOf(funnel, 'judge')!;
    const words = stageOf(funnel, 'special_words')!;
    expect(judged.in).toBe(words.kept);
    expect(stageOf(funnel, 'near_duplicate')!.in).toBe(judged.kept);
    expect(stageOf(funnel, 'selection')!.in).toBe(stageOf(funnel, 'near_duplicate')!.kept);
    expect(stageOf(funnel, 'selection')!.selection).toMatchObject({ target: 45_000 });
    expect(stageOf(funnel, 'selection')!.selection!.shortfall).toBe(45_000 - stageOf(funnel, 'selection')!.kept);

    const { sft, byId } = await exportedSft(db, id, dir);
    expect(sft.length).toBe(stageOf(funnel, 'selection')!.kept);
    const special = createSpecialWordsFilter(assets.specialWords.phrases);
    let augmented = 0;
    for (const r of sft) {
      const question = r.conversations[0]!.value.replace(/^<image>\n/, '');
      const answer = r.conversations[1]!.value;
      const row = byId.get(r.id)!;
      expect({ id: r.id, judge: row.judge, words: row.words }).toEqual({ id: r.id, judge: 'kept', words: 'kept' });
      expect({ id: r.id, phrase: special.matchPair({ question, answer }) }).toEqual({ id: r.id, phrase: undefined });
      expect({ id: r.id, refusal: isRefusal(answer) }).toEqual({ id: r.id, refusal: false });
      const cls = findClass(assets.taxonomy, row.class_name)!;
      const label = cls.attack
        ? { authenticity: 'spoof' as const, className: cls.name }
        : { authenticity: 'real' as const };
      expect({ id: r.id, verdict: judgePair({ question, answer }, label).correspond }).toEqual({
        id: r.id,
        verdict: true,
      });
      if (row.origin === 'augmented') {
        augmented += 1;
        expect(row.parent_id).toBeTruthy();
        expect(byId.get(row.parent_id!)).toBeDefined();
        expect(row.parent_id!.startsWith(`${id}:`)).toBe(true);
      }
    }
    expect(augmented).toBeGreaterThan(0);
    // The lineage file names each augmented record's parent too.
    const lineage = fs
      .readFileSync(path.join(dir, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; origin: string; parentId: string | null });
    for (const l of lineage.filter((x) => x.origin === 'augmented')) expect(byId.has(l.parentId ?? '')).toBe(true);
  });
});

test('filter → augment → filter again runs in that order, selects to a small target, and continues as new', async () => {
  await withWorkers(async (db) => {
    const id = `sft-order-${Date.now()}`;
    const dir = path.join(suite.home, id);
    const input = {
      name: 'sft order',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
      generation: { batchSize: 2 },
      sft: {
        order: 'filter-augment-filter',
        batchSize: 3,
        parallelBatches: 2,
        target: 12,
        continueAsNewAfterEvents: 20,
      },
      review: { required: false },
      export: { dir },
    };
    const handle = await suite.client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    await handle.result();

    const steps = (await suite.client.workflow.getHandle(`${id}:sft`).result()) as StageProgress[];
    expect(steps.map((s) => s.stage)).toEqual(['sft_filter', 'augment', 'sft_refilter', 'near_duplicate', 'selection']);
    for (const s of steps)
      expect({ stage: s.stage, state: s.state, done: s.batchesDone }).toEqual({
        stage: s.stage,
        state: 'done',
        done: s.batchesTotal,
      });

    // The child ran as several runs of one workflow id, each continuing as new with a short history.
    const runs: { status: string; events: number }[] = [];
    for await (const w of suite.client.workflow.list({ query: `WorkflowId = '${id}:sft'` })) {
      const history = await suite.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      runs.push({ status: w.status.name, events: history.events?.length ?? 0 });
    }
    expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
    expect(runs.filter((r) => r.status === 'COMPLETED')).toHaveLength(1);
    const longest = Math.max(...runs.map((r) => r.events));
    expect(longest).toBeLessThan(20 + 40);
    expect(runs.reduce((a, r) => a + r.events, 0)).toBeGreaterThan(2 * longest);

    // Counts carried across runs: the steps' totals equal the database's.
    const count = async (q: ReturnType<typeof sql>) => Number((await queryRows<{ n: string }>(db, q))[0]!.n);
    const augmentStep = steps.find((s) => s.stage === 'augment')!;
    expect(augmentStep.counts.in).toBe(
      await count(sql`select count(*) as n from verdicts where build_id = ${id} and stage = 'augment'`),
    );
    expect(augmentStep.counts.created).toBe(
      await count(sql`select count(*) as n from records where build_id = ${id} and origin = 'augmented'`),
    );

    // Filtered first: every parent had passed the judge before it was augmented.
    const order = await queryRows<{ n: string; early: string }>(
      db,
      sql`select count(*) as n,
                 count(*) filter (where j.created_at > a.created_at) as early
            from records c
            join verdicts a on a.record_id = c.parent_id and a.stage = 'augment'
            left join verdicts j on j.record_id = c.parent_id and j.stage = 'judge'
           where c.build_id = ${id} and c.origin = 'augmented' and (j.verdict = 'kept')`,
    );
    const children = await queryRows<{ n: string }>(
      db,
      sql`select count(*) as n from records where build_id = ${id} and origin = 'augmented'`,
    );
    expect(Number(children[0]!.n)).toBeGreaterThan(0);
    expect(Number(order[0]!.n)).toBe(Number(children[0]!.n));
    expect(Number(order[0]!.early)).toBe(0);

    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expectFunnelAddsUp(summary.funnel);
    const selection = stageOf(summary.funnel, 'selection')!;
    expect(selection.kept).toBe(12);
    expect(selection.dropped.not_selected).toBe(selection.in - 12);
    expect(readLlava(dir, 'sft.json')).toHaveLength(12);
    expect(total(selection.dropped)).toBeGreaterThan(0);
  });
});
