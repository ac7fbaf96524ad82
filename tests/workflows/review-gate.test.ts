/**
 * The human review gate on a real Temporal dev server and PostgreSQL, driven only through the
 * message names users rely on: the `reviewDecisions` and `approveReview` signals, the
 * `submitReviewDecisions` update and the `reviewProgress` query.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import type { ExportOutput, FunnelStage } from '../../activities/contracts';
import type { FasforgeEnv } from '../../config/env';
import { queryRows, type OpenDatabase } from '../../db/client';
import { QUEUES } from '../../workers/bootstrap';
import type {
  BuildProgress,
  ReviewDecisionBatch,
  ReviewItemsPageResult,
  ReviewProgress,
} from '../../workflows/messages';
import { formatBox } from '../../workflows/review-rules';
import { createTestDatabase } from '../support/env';
import { readLlava } from '../support/llava';
import { envFor, useBuildSuite } from '../support/model-build';
import { runWorkers } from '../support/workers';

jest.setTimeout(300_000);

const logs: LogEntry[] = [];

// The test's own runtime logger, installed before anything starts, so the tests can read the logs.
beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('INFO', (entry) => logs.push(entry)) });
});

const suite = useBuildSuite({
  runtime: false,
  simulator: { seed: 'review-gate-test' },
  fixture: true,
  homePrefix: 'fasforge-review-',
});

const buildInput = (exportDir: string, extra: object = {}) => ({
  name: 'review gate test',
  sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
  generation: { batchSize: 3 },
  sft: { batchSize: 10 },
  export: { dir: exportDir },
  ...extra,
});

/** Runs the three workers; `restart` shuts them down and starts new ones on the same queues. */
async function startWorkers(env: FasforgeEnv, database: OpenDatabase) {
  const start = () => runWorkers({ env, database, queues: QUEUES, workflowBundle: suite.bundle });
  let current = await start();
  return {
    restart: async () => {
      await current.stop();
      current = await start();
    },
    close: () => current.stop(),
  };
}

async function progressOf(handle: WorkflowHandle, page?: object): Promise<ReviewProgress> {
  return handle.query<ReviewProgress, [object?]>('reviewProgress', page);
}

async function waitFor(
  handle: WorkflowHandle,
  ok: (r: ReviewProgress) => boolean,
  what: string,
): Promise<ReviewProgress> {
  for (let i = 0; i < 900; i++) {
    const r = await progressOf(handle).catch(() => undefined);
    if (r && ok(r)) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return String((err as WorkflowUpdateFailedError).cause?.message);
}

const submit = (handle: WorkflowHandle, batch: ReviewDecisionBatch) =>
  handle.executeUpdate<{ accepted: number; unchanged: number }, [ReviewDecisionBatch]>('submitReviewDecisions', {
    args: [batch],
  });

test('reviewers decide, revise and approve through the message names, across a worker restart, and the export follows', async () => {
  const db = await createTestDatabase();
  const workers = await startWorkers(envFor(suite.h, db.url, suite.sim), db.database);
  const exportDir = path.join(suite.home, 'export-gate');
  try {
    const id = `test-review-${Date.now()}`;
    const handle = await suite.client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [buildInput(exportDir)],
    });
    const open = await waitFor(handle, (r) => r.waiting, 'the build waits at the review gate');
    expect(open).toMatchObject({ released: false, approved: 0, rejected: 0, revised: 0 });
    expect(open.pending).toBe(open.total);
    expect(open.page.items).toHaveLength(Math.min(50, open.pending));

    const page = await progressOf(handle, { offset: 0, limit: 500 });
    expect(page.page.items).toHaveLength(open.pending);
    const second = await progressOf(handle, { offset: 2, limit: 3 });
    expect(second.page.items.map((i) => i.id)).toEqual(page.page.items.slice(2, 5).map((i) => i.id));
    expect((await progressOf(handle, { limit: 0 })).page).toEqual({ offset: 0, limit: 0, items: [] });
    for (const limit of [-1, 2.5, 501, '3'])
      await expect(progressOf(handle, { limit })).rejects.toThrow(
        `"limit" must be a whole number from 0 to 500, not ${JSON.stringify(limit)}`,
      );

    // The sheet's page: the same pending records, with the text and image the workers read.
    const items = (page: object) =>
      handle.executeUpdate<ReviewItemsPageResult, [object]>('reviewItems', { args: [page] });
    const withText = await items({ offset: 2, limit: 3 });
    expect(withText).toMatchObject({ offset: 2, limit: 3, pending: open.pending });
    expect(withText.items.map((i) => i.id)).toEqual(second.page.items.map((i) => i.id));
    const [row] = await queryRows<{ question: string; answer: string }>(
      db.database.db,
      sql`select question, answer from records where id = ${withText.items[0]!.id}`,
    );
    expect(withText.items[0]).toMatchObject({
      question: row!.question,
      answer: row!.answer,
      image: expect.stringContaining(suite.fixture.root),
      class: second.page.items[0]!.class,
    });
    expect((await items({ limit: 0 })).items).toEqual([]);
    expect(await refusalOf(items({ offset: -2 }))).toBe(
      '"offset" must be a whole number from 0 to 9007199254740991, not -2',
    );
    const sft = page.page.items.filter((i) => i.set === 'sft' && i.task !== 'localization');
    const localization = page.page.items.find((i) => i.task === 'localization' && i.box);
    expect(sft.length).toBeGreaterThanOrEqual(3);
    expect(localization).toBeDefined();
    const [rejected, revised, approved] = sft as [(typeof sft)[0], (typeof sft)[0], (typeof sft)[0]];
    const loc = localization!;

    // A signal's batch: its valid entries apply, the bad one is counted with its reason.
    await handle.signal('reviewDecisions', {
      reviewer: 'ana',
      decisions: [
        { id: approved.id, decision: 'approve' },
        { id: rejected.id, decision: 'reject', reason: 'the answer contradicts the attack type' },
        { id: `${id}:999999:coarse`, decision: 'approve' },
      ],
    });
    const afterSignal = await waitFor(handle, (r) => r.rejected === 1, 'the signal batch is applied');
    expect(afterSignal).toMatchObject({ approved: 1, rejected: 1, revised: 0, pending: open.pending - 2 });
    expect(afterSignal.refused.total).toBe(1);
    expect(afterSignal.refused.recent[0]).toEqual({
      id: `${id}:999999:coarse`,
      reason: expect.stringMatching(/no such record awaits review/),
    });
    // Invalid input on a signal never crashes the workflow.
    await handle.signal('reviewDecisions', { nonsense: true } as never);
    await handle.signal('approveReview', {} as never);
    const blocked = await waitFor(handle, (r) => r.blocked !== undefined, 'the bad approval is refused');
    expect(blocked.blocked).toMatch(/non-empty "reviewer"/);

    await workers.restart();

    const [original] = await queryRows<{ question: string; answer: string }>(
      db.database.db,
      sql`select question, answer from records where id = ${revised.id}`,
    );
    const boxText = formatBox(loc.box!);
    // An update is refused whole, naming each bad decision; nothing of it is applied.
    const broken = await refusalOf(
      submit(handle, {
        reviewer: 'ben',
        decisions: [
          {
            id: revised.id,
            decision: 'revise',
            question: 'Is this face real or a presentation attack?',
            answer: 'It is a spoof.',
          },
          { id: loc.id, decision: 'revise', answer: 'The forged region is at [1.0, 2.0, 3.0, 4.0].' },
        ],
      }),
    );
    expect(broken).toMatch(
      `1 of 2 decisions refused, none applied: ${loc.id}: the revised answer must keep the spoof-region box ${boxText}`,
    );
    expect(
      await refusalOf(
        submit(handle, { reviewer: 'ben', decisions: [{ id: loc.id, decision: 'revise', answer: 'No box here.' }] }),
      ),
    ).toMatch(/must keep the spoof-region box/);
    expect(
      await refusalOf(
        submit(handle, {
          buildId: 'another-build',
          reviewer: 'ben',
          decisions: [{ id: revised.id, decision: 'approve' }],
        }),
      ),
    ).toMatch(`the batch is for build another-build, but this is build ${id}`);
    expect(
      await refusalOf(
        submit(handle, { reviewer: 'ben', decisions: [{ id: 'another-build:1:coarse', decision: 'approve' }] }),
      ),
    ).toMatch(`does not belong to build ${id}`);
    expect(
      await refusalOf(submit(handle, { reviewer: 'ben', decisions: [{ id: revised.id, decision: 'maybe' as never }] })),
    ).toMatch('"decision" must be approve, reject or revise, not "maybe"');
    expect(
      await refusalOf(submit(handle, { reviewer: 'ben', decisions: [{ id: revised.id, decision: 'reject' }] })),
    ).toMatch('a rejection needs a "reason"');
    expect(
      await refusalOf(submit(handle, { reviewer: 'ben', decisions: [{ id: rejected.id, decision: 'approve' }] })),
    ).toMatch('already decided: reject by ana');
    expect((await progressOf(handle)).revised).toBe(0);

    const good: ReviewDecisionBatch = {
      reviewer: 'ben',
      decisions: [
        {
          id: revised.id,
          decision: 'revise',
          question: 'Is this face real or a presentation attack?',
          answer: 'It is a spoof: a printed photo.',
        },
        { id: loc.id, decision: 'revise', answer: `Reviewed: the forged region lies at ${boxText}.` },
      ],
    };
    expect(await submit(handle, good)).toEqual({ accepted: 2, unchanged: 0 });
    // Re-sending the same sheet changes nothing and is not an error.
    expect(await submit(handle, good)).toEqual({ accepted: 0, unchanged: 2 });
    const decided = await progressOf(handle);
    expect(decided).toMatchObject({ approved: 1, rejected: 1, revised: 2, pending: open.pending - 4 });
    expect(decided.page.items.map((i) => i.id)).not.toContain(revised.id);
    // The build's own `progress` query shows the gate and its decisions so far.
    const build = await handle.query<BuildProgress>('progress');
    expect(build.stage).toBe('review');
    expect(build.stages.find((st) => st.stage === 'review')).toMatchObject({
      state: 'waiting',
      counts: { in: open.total, kept: 3, dropped: { rejected_by_reviewer: 1 } },
    });

    await workers.restart();
    await handle.signal('approveReview', { reviewer: 'carla', note: 'spot-checked the rest' });
    const out = (await handle.result()) as ExportOutput;
    expect(await progressOf(handle)).toMatchObject({ waiting: false, released: true, reviewer: 'carla' });

    const exported = [...readLlava(exportDir, 'pretrain.json'), ...readLlava(exportDir, 'sft.json')];
    const byId = new Map(exported.map((r) => [r.id, r]));
    expect(byId.has(rejected.id)).toBe(false);
    expect(byId.has(approved.id)).toBe(true);
    expect(byId.get(revised.id)!.conversations.map((c) => c.value)).toEqual([
      '<image>\nIs this face real or a presentation attack?',
      'It is a spoof: a printed photo.',
    ]);
    expect(byId.get(loc.id)!.conversations[1]!.value).toBe(`Reviewed: the forged region lies at ${boxText}.`);
    expect(exported).toHaveLength(open.pending - 1);

    const lineage = fs
      .readFileSync(path.join(exportDir, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lineage.map((l) => l.id)).not.toContain(rejected.id);
    const revisedLine = lineage.find((l) => l.id === revised.id);
    expect(revisedLine.review).toMatchObject({ decision: 'revise', reviewer: 'ben', original: original });
    expect(revisedLine.review.diff.answer).toMatchObject({ added: expect.any(String) });
    expect(lineage.find((l) => l.id === approved.id).review).toMatchObject({ decision: 'approve', reviewer: 'ana' });

    const rows = await queryRows<{
      record_id: string;
      decision: string;
      reviewer: string;
      before_answer: string | null;
      after_answer: string | null;
    }>(
      db.database.db,
      sql`select record_id, decision, reviewer, before_answer, after_answer from review_decisions where build_id = ${id} order by record_id`,
    );
    expect(rows).toHaveLength(4);
    expect(rows.find((r) => r.record_id === revised.id)).toMatchObject({
      before_answer: original!.answer,
      after_answer: 'It is a spoof: a printed photo.',
    });
    const [dropped] = await queryRows<{ status: string; stage: string; reason: string }>(
      db.database.db,
      sql`select status, stage, reason from records where id = ${rejected.id}`,
    );
    expect(dropped).toEqual({ status: 'dropped', stage: 'review', reason: 'rejected_by_reviewer' });
    const review = out.funnel.find((s: FunnelStage) => s.stage === 'review');
    expect(review).toMatchObject({ in: open.pending, kept: open.pending - 1, dropped: { rejected_by_reviewer: 1 } });
  } finally {
    await workers.close();
    await db.drop();
  }
});

test('a sample with too many rejections keeps the gate closed, and the timeout releases only approved records', async () => {
  const db = await createTestDatabase();
  const workers = await startWorkers(envFor(suite.h, db.url, suite.sim), db.database);
  const exportDir = path.join(suite.home, 'export-sample');
  try {
    const id = `test-review-sample-${Date.now()}`;
    const review = {
      sample: { perClass: 1, seed: 'test', maxRejectRate: 0.25 },
      timeout: { action: 'release-approved', after: '20s', remindEvery: '4s' },
    };
    const input = buildInput(exportDir, { tasks: ['coarse', 'fine'], sft: { augment: false, batchSize: 10 }, review });
    const handle = await suite.client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    const open = await waitFor(handle, (r) => r.waiting, 'the build waits at the review gate');
    const [active] = await queryRows<{ n: string }>(
      db.database.db,
      sql`select count(*) as n from records where build_id = ${id} and status = 'active'`,
    );
    const classes = new Set(open.page.items.map((i) => i.class));
    expect(open.total).toBe(classes.size);
    expect(Number(active!.n)).toBeGreaterThan(open.total);
    expect(open.sample).toMatchObject({ perClass: 1, size: open.total, maxRejectRate: 0.25 });

    const [first, second, ...rest] = open.page.items;
    await handle.signal('approveReview', { reviewer: 'ana' });
    expect((await waitFor(handle, (r) => r.blocked !== undefined, 'approval is refused')).blocked).toMatch(
      /still undecided/,
    );
    await submit(handle, {
      reviewer: 'ana',
      decisions: [
        { id: first!.id, decision: 'reject', reason: 'wrong label' },
        { id: second!.id, decision: 'reject', reason: 'hedged answer' },
        ...rest.map((i) => ({ id: i.id, decision: 'approve' as const })),
      ],
    });
    await handle.signal('approveReview', { reviewer: 'ana' });
    const closed = await waitFor(
      handle,
      (r) => /reject rate/.test(r.blocked ?? ''),
      'approval is refused for the reject rate',
    );
    const rate = Math.round((2 / open.total) * 1000) / 10;
    expect(rate).toBeGreaterThan(25);
    expect(closed.blocked).toMatch(
      `the sample's reject rate is ${rate}% (2 of ${open.total}), above the 25% acceptance threshold`,
    );
    expect(closed.waiting).toBe(true);
    expect(closed.blocked).toContain(`npx fasforge build cancel ${id}`);
    expect(closed.blocked).toContain('review.timeout');
    const reviewStage = () =>
      handle.query<BuildProgress>('progress').then((p) => p.stages.find((s) => s.stage === 'review')!);
    expect((await reviewStage()).blocked).toBe(closed.blocked);

    const out = (await handle.result()) as ExportOutput;
    expect((await reviewStage()).blocked).toBeUndefined();
    const exported = readLlava(exportDir, 'sft.json')
      .map((r) => r.id)
      .sort();
    expect(exported).toEqual(rest.map((i) => i.id).sort());
    const stage = out.funnel.find((s) => s.stage === 'review');
    expect(stage).toMatchObject({
      in: Number(active!.n),
      kept: rest.length,
      dropped: { rejected_by_reviewer: 2, unreviewed: Number(active!.n) - open.total },
    });
    const summary = JSON.parse(fs.readFileSync(path.join(exportDir, 'summary.json'), 'utf8'));
    expect(summary.review.reviewer).toBe('review timeout policy');
    const reminders = logs.filter((l) => l.message.startsWith('review reminder') && l.meta?.workflowId === id);
    expect(reminders.length).toBeGreaterThanOrEqual(2);
    expect(logs.some((l) => l.message === 'approveReview refused' && l.meta?.workflowId === id)).toBe(true);
  } finally {
    await workers.close();
    await db.drop();
  }
});

test('the fail timeout policy fails a build nobody approved, saying how many records waited', async () => {
  const db = await createTestDatabase();
  const workers = await startWorkers(envFor(suite.h, db.url, suite.sim), db.database);
  try {
    const id = `test-review-fail-${Date.now()}`;
    const input = buildInput(path.join(suite.home, 'export-fail'), {
      tasks: ['coarse'],
      sft: { augment: false, judge: false },
      review: { timeout: { action: 'fail', after: '3s' } },
    });
    const handle = await suite.client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe('ReviewTimedOut');
    expect(cause.message).toMatch(/the review was not approved within 3s: \d+ records still await review/);
    expect(fs.existsSync(path.join(suite.home, 'export-fail', 'summary.json'))).toBe(false);
  } finally {
    await workers.close();
    await db.drop();
  }
});
