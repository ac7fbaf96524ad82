/**
 * `review export` with the default embedded database: the worker process holds the PGlite
 * directory, and the sheet still comes out, because the CLI reads the texts through the gate's
 * `reviewItems` update (run by the workers) and opens no database of its own. The workers run in
 * a process of their own (tests/cli/embedded-workers.ts), as `npx fasforge workers` does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parse } from 'csv-parse/sync';
import { exportSheet, requireWorkers } from '../../cli/review';
import type { ReviewProgress } from '../../workflows/messages';
import { TEMPORAL_ADDRESS } from '../support/env';
import { useBuildSuite } from '../support/model-build';

jest.setTimeout(300_000);

const suite = useBuildSuite({
  simulator: { seed: 'review-embedded-test' },
  fixture: true,
  homePrefix: 'fasforge-review-embedded-',
  bundle: false,
  // No worker runs in this process, so it needs no Temporal runtime (one left installed keeps jest alive).
  runtime: false,
});

/** The workers process, with a way to send it a command and read its next JSON line. */
function startEmbeddedWorkers(home: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'embedded-workers.ts'), home, suite.sim.url, TEMPORAL_ADDRESS],
    { cwd: path.join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const reader = readline.createInterface({ input: child.stdout! });
  const lines = reader[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the workers process exited (${await exited})`);
      if (value.startsWith('{')) return JSON.parse(value) as Record<string, unknown>;
    }
  };
  return {
    next,
    send: (command: string) => child.stdin!.write(`${command}\n`),
    stop: async () => {
      if (child.exitCode === null) child.stdin!.end('stop\n');
      const code = await exited;
      reader.close();
      return code;
    },
  };
}

test('review export writes the sheet while the workers hold the embedded database', async () => {
  const { client, home, fixture } = suite;
  const workers = startEmbeddedWorkers(home);
  try {
    expect(await workers.next()).toEqual({ ready: true, kind: 'pglite', databaseUrl: null });
    const id = `test-review-embedded-${Date.now()}`;
    const handle = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [
        {
          sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
          tasks: ['coarse', 'localization'],
          sft: { augment: false },
          export: { dir: path.join(home, 'export') },
        },
      ],
    });
    for (let i = 0; !(await handle.query<ReviewProgress>('reviewProgress')).waiting; i++) {
      if (i > 900) throw new Error('the build never reached the review gate');
      await new Promise((r) => setTimeout(r, 200));
    }

    const sheet = path.join(home, 'sheet.csv');
    // Pages of 3 records: the sheet is read through several `reviewItems` updates.
    const count = await exportSheet(client, 'default', id, sheet, 3);
    const progress = await handle.query<ReviewProgress, [object]>('reviewProgress', { limit: 500 });
    expect(count).toBe(progress.pending);
    expect(count).toBeGreaterThan(6);
    const rows = parse(fs.readFileSync(sheet, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.id)).toEqual(progress.page.items.map((i) => i.id));
    workers.send(`records ${id}`);
    const { records } = (await workers.next()) as {
      records: { id: string; question: string; answer: string; clip_score: number | null }[];
    };
    const byId = new Map(records.map((t) => [t.id, t]));
    for (const row of rows) {
      const record = byId.get(row.id!)!;
      expect(row).toMatchObject({ question: record.question, answer: record.answer });
      expect(row.clip_score).toBe(record.clip_score === null ? '' : String(record.clip_score));
      expect(row.image).toContain(fixture.root);
      expect(row.label).not.toBe('');
    }
    expect(rows.some((r) => r.task === 'localization' && (r.box ?? '').startsWith('['))).toBe(true);
    await handle.terminate('test done');
  } finally {
    expect(await workers.stop()).toBe(0);
  }
});

test('export says to start the workers when none polls the queue, instead of waiting', async () => {
  await expect(requireWorkers(suite.client, 'default', `nobody-polls-${Date.now()}`)).rejects.toThrow(
    /no worker is polling the nobody-polls-\d+ queue for workflows: start the workers \(npx fasforge workers, or npx fasforge dev\)/,
  );
});
