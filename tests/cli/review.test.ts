/**
 * `fasforge review export|import|approve` as a reviewer runs them, against a real build waiting
 * at its review gate: a CSV sheet out, decisions back in (one of them refused), then approval.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ExportOutput } from '../../activities/contracts';
import { QUEUES } from '../../workers/bootstrap';
import type { ReviewProgress } from '../../workflows/messages';
import { createTestDatabase, STATE_FILE, TEMPORAL_ADDRESS } from '../support/env';
import { readLlava } from '../support/llava';
import { envFor, useBuildSuite } from '../support/model-build';
import { runWorkers } from '../support/workers';

jest.setTimeout(240_000);

const run = promisify(execFile);
const bin = path.resolve(__dirname, '..', '..', 'cli', 'bin.js');
const suite = useBuildSuite({
  simulator: { seed: 'review-cli-test' },
  fixture: true,
  homePrefix: 'fasforge-review-cli-',
});

async function fasforge(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

test('a reviewer exports a sheet, imports decisions with one refused, and approves from the command line', async () => {
  const db = await createTestDatabase();
  const { sim, fixture, client, home } = suite;
  const env = envFor(suite.h, db.url, sim);
  const workers = await runWorkers({ env, database: db.database, queues: QUEUES, workflowBundle: suite.bundle });
  const exportDir = path.join(home, 'export');
  const cliEnv = { DATABASE_URL: db.url, FASFORGE_HOME: home, TEMPORAL_ADDRESS: '' };
  try {
    const id = `test-review-cli-${Date.now()}`;
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [
        {
          sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
          tasks: ['coarse', 'localization'],
          sft: { augment: false },
          export: { dir: exportDir },
        },
      ],
    });
    for (let i = 0; !(await handle.query<ReviewProgress>('reviewProgress')).waiting; i++) {
      if (i > 600) throw new Error('the build never reached the review gate');
      await new Promise((r) => setTimeout(r, 200));
    }

    const sheet = path.join(home, 'sheet.csv');
    const exported = await fasforge(['review', 'export', id, '--out', sheet, '--address', TEMPORAL_ADDRESS], cliEnv);
    expect(exported.out).toMatch(/records awaiting review written to/);
    expect(exported.out).toContain(
      `npx fasforge review import ${id} ${sheet} --reviewer <name> --address ${TEMPORAL_ADDRESS}`,
    );
    expect(exported.code).toBe(0);
    // With DATABASE_URL the texts come from the database: the export adds nothing to the history.
    const history = await handle.fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(0);
    const rows = parse(fs.readFileSync(sheet, 'utf8'), { columns: true }) as Record<string, string>[];
    const pending = (await handle.query<ReviewProgress, [object]>('reviewProgress', { limit: 500 })).page.items;
    expect(rows.map((r) => r.id)).toEqual(pending.map((p) => p.id));
    expect(rows[0]).toMatchObject({
      image: expect.stringContaining(fixture.root),
      question: expect.any(String),
      answer: expect.any(String),
    });

    const loc = rows.find((r) => r.task === 'localization')!;
    const coarse = rows.filter((r) => r.task === 'coarse');
    const [rejected, revised] = coarse as [Record<string, string>, Record<string, string>];
    Object.assign(rejected, { decision: 'reject', reason: 'the answer names the wrong attack' });
    Object.assign(revised, { decision: 'revise', new_answer: 'This is a presentation attack.' });
    Object.assign(loc, { decision: 'revise', new_answer: 'The spoof region is around the eyes.' });
    for (const r of coarse.slice(2)) r.decision = 'approve';
    fs.writeFileSync(sheet, stringify(rows, { header: true, columns: Object.keys(rows[0]!) }));

    const imported = await fasforge(
      ['review', 'import', id, sheet, '--reviewer', 'ana', '--chunk', '2', '--address', TEMPORAL_ADDRESS],
      cliEnv,
    );
    expect(imported.code).toBe(1);
    expect(imported.out).toContain(`accepted ${coarse.length}, already recorded 0, refused 1`);
    expect(imported.out).toContain(`refused ${loc.id}: the revised answer must keep the spoof-region box`);

    const again = await fasforge(
      ['review', 'import', id, sheet, '--reviewer', 'ana', '--address', TEMPORAL_ADDRESS],
      cliEnv,
    );
    expect(again.out).toContain(`accepted 0, already recorded ${coarse.length}, refused 1`);

    const approved = await fasforge(
      ['review', 'approve', id, '--reviewer', 'ana', '--note', 'sheet reviewed', '--address', TEMPORAL_ADDRESS],
      cliEnv,
    );
    expect(approved.out).toContain(`build ${id} approved by ana`);
    expect(approved.code).toBe(0);
    const out = (await handle.result()) as ExportOutput;
    const sft = new Map(readLlava(exportDir, 'sft.json').map((r) => [r.id, r]));
    expect(sft.has(rejected.id!)).toBe(false);
    expect(sft.get(revised.id!)!.conversations[1]!.value).toBe('This is a presentation attack.');
    expect(sft.get(loc.id!)!.conversations[1]!.value).toBe(loc.answer);
    expect(out.counts.sft).toBe(rows.length - 1);

    const late = await fasforge(['review', 'approve', id, '--reviewer', 'ana', '--address', TEMPORAL_ADDRESS], cliEnv);
    expect(late.code).toBe(1);
    expect(late.out).toMatch(/already passed its review gate/);
  } finally {
    await workers.stop();
    await db.drop();
  }
});

test("the README's approve-review.sh approves with a note holding quotes and backslashes", async () => {
  const db = await createTestDatabase();
  const { sim, fixture, client, home } = suite;
  const env = envFor(suite.h, db.url, sim);
  const workers = await runWorkers({ env, database: db.database, queues: QUEUES, workflowBundle: suite.bundle });
  const exportDir = path.join(home, 'export-script');
  try {
    const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const script = /```sh\n(#!\/bin\/sh\n# approve-review\.sh[\s\S]*?)```/.exec(readme)?.[1];
    expect(script).toBeDefined();
    const scriptFile = path.join(home, 'approve-review.sh');
    fs.writeFileSync(scriptFile, script!);
    const { cli } = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as { cli: string };

    const id = `test-review-script-${Date.now()}`;
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [
        {
          sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
          tasks: ['coarse'],
          sft: { augment: false },
          export: { dir: exportDir },
        },
      ],
    });
    for (let i = 0; !(await handle.query<ReviewProgress>('reviewProgress')).waiting; i++) {
      if (i > 600) throw new Error('the build never reached the review gate');
      await new Promise((r) => setTimeout(r, 200));
    }
    const note = 'she said "looks fine" \\ path C:\\data\\n, then {"a":1}';
    const reviewer = 'ana "the checker"';
    await run('sh', [scriptFile, id, reviewer, note], {
      env: { ...process.env, TEMPORAL_ADDRESS, PATH: `${path.dirname(cli)}:${process.env.PATH}` },
    });
    await handle.result();
    const summary = JSON.parse(fs.readFileSync(path.join(exportDir, 'summary.json'), 'utf8'));
    expect(summary.review).toMatchObject({ reviewer, note });
  } finally {
    await workers.stop();
    await db.drop();
  }
});
