/**
 * `fasforge build start|status|list|cancel` as a user runs them: separate processes against a
 * real Temporal server, with workers running in this test process.
 * Regression: `build status <build>:generate` used to crash with `p.children is not iterable`,
 * because a child workflow's `progress` query answers with a list of stages.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { parseEnv } from '../../config/env';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { createWorkers, installRuntime, QUEUES } from '../../workers/bootstrap';
import { createTestDatabase, TEMPORAL_ADDRESS, TEST_PORT } from '../support/env';
import { makeFixtureSet, type FixtureSet } from '../support/fixtures';

jest.setTimeout(300_000);

const bin = path.resolve(__dirname, '..', '..', 'cli', 'bin.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-cli-build-'));

let sim: RunningSimulator;
let fixture: FixtureSet;
let client: Client;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let connection: NativeConnection;
let workers: Worker[];
let running: Promise<void>[];

function fasforge(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return fasforgeWith({}, ...args);
}

function fasforgeWith(
  extra: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, FASFORGE_HOME: home, ...extra };
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'FASFORGE_TRACING']) delete env[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, '--address', TEMPORAL_ADDRESS, ...args],
      { env, timeout: 240_000 },
      (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

beforeAll(async () => {
  installRuntime('WARN');
  sim = await startSimulator({ seed: 'cli-build-test' });
  fixture = await makeFixtureSet();
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }) });
  db = await createTestDatabase();
  const env = parseEnv({
    FASFORGE_HOME: home,
    DATABASE_URL: db.url,
    FASFORGE_VISION_BASE_URL: sim.url,
    FASFORGE_TEXT_BASE_URL: sim.url,
  });
  connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  workers = await createWorkers({ env, database: db.database, connection, queues: QUEUES, workflowBundle });
  running = workers.map((w) => w.run());
});

afterAll(async () => {
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  await db.drop();
  await sim.close();
  fixture.cleanup();
  await client.connection.close();
});

function buildFile(name: string, extra: object = {}): string {
  const file = path.join(home, `${name}.json`);
  const input = {
    name,
    sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
    generation: { batchSize: 2 },
    export: { dir: path.join(home, `export-${name}`) },
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify(input));
  return file;
}

test('start prints the id and web UI link; status follows to the review gate, then to the export', async () => {
  const id = `cli-build-${Date.now()}`;
  const started = await fasforge('build', 'start', buildFile('cli-a'), '--id', id);
  expect(started).toMatchObject({ code: 0 });
  expect(started.out.split('\n')[0]).toBe(id);
  expect(started.out).toContain(`web UI: http://127.0.0.1:${TEST_PORT + 1000}/namespaces/default/workflows/${id}`);

  const watched = await fasforge('build', 'status', id, '--watch', '--interval', '0.5');
  expect(watched).toMatchObject({ code: 0 });
  expect(watched.out).toMatch(/generate +\[#{20}\] done/);
  expect(watched.out).toMatch(/records await review/);
  // The approve hint names the server, since it is not the default one.
  expect(watched.out).toContain(
    `temporal workflow signal --address ${TEMPORAL_ADDRESS} --workflow-id ${id} --name approveReview`,
  );

  const child = await fasforge('build', 'status', `${id}:generate`);
  expect(child).toMatchObject({ code: 0 });
  expect(child.out).toContain(`generateRecordsWorkflow of build ${id}`);
  expect(child.out).toMatch(/generate +\[#{20}\] done/);

  const json = JSON.parse((await fasforge('build', 'status', id, '--json')).out);
  expect(json).toMatchObject({
    workflowId: id,
    kind: 'build',
    status: 'RUNNING',
    stage: 'review',
    review: { waiting: true },
  });
  expect(json.stages.map((s: { stage: string }) => s.stage)).toEqual(
    expect.arrayContaining(['ingest', 'generate', 'clip_filter']),
  );

  const listed = JSON.parse((await fasforge('build', 'list', '--json')).out) as { workflowId: string; stage: string }[];
  expect(listed.find((b) => b.workflowId === id)).toMatchObject({ stage: 'review' });
  const reviewOnly = await fasforge('build', 'list', '--query', "FasforgeStage='review'");
  expect(reviewOnly.out).toContain(id);

  await client.workflow.getHandle(id).signal('approveReview', { reviewer: 'cli test', note: 'checked' });
  const finished = await fasforge('build', 'status', id, '--watch', '--interval', '0.5');
  expect(finished).toMatchObject({ code: 0 });
  expect(finished.out).toContain(`export: ${path.join(home, 'export-cli-a')}`);
  expect((await fasforge('build', 'list')).out).toMatch(new RegExp(`${id} +COMPLETED +done`));
});

test('status prints why a build failed, and exits non-zero with --watch', async () => {
  const id = `cli-fail-${Date.now()}`;
  const file = buildFile('cli-b', {
    sources: [{ name: 'gone', adapter: 'siw-mv2', root: path.join(home, 'no-such-folder') }],
  });
  expect(await fasforge('build', 'start', file, '--id', id)).toMatchObject({ code: 0 });
  const watched = await fasforge('build', 'status', id, '--watch', '--interval', '0.5');
  expect(watched.code).toBe(1);
  expect(watched.out).toContain(`build ${id}: FAILED`);
  expect(watched.out).toMatch(/failed: .*no-such-folder/);
  // Without --watch too, a failed build is a non-zero exit.
  const once = await fasforge('build', 'status', id);
  expect(once.code).toBe(1);
  expect(once.out).toContain(`build ${id}: FAILED`);

  // Its id is taken: starting another build with it is refused in plain words.
  const again = await fasforge('build', 'start', file, '--id', id);
  expect(again.code).toBe(1);
  expect(again.err).toContain(
    `a build with id ${id} already exists; choose another --id (see npx fasforge build list)`,
  );
  expect(again.err).not.toMatch(/already started/i);

  // Nothing reached export: `export` says why, from Temporal.
  const exported = await fasforgeWith({ DATABASE_URL: db.url }, 'export', id, '--out', path.join(home, 'x-fail'));
  expect(exported.code).toBe(1);
  expect(exported.err).toMatch(new RegExp(`build ${id} failed \\(.*no-such-folder.*\\) — nothing to export`));
});

test('a start with an id that needs quoting prints a follow command a shell can run', async () => {
  const id = `cli quote's ${Date.now()}`;
  const started = await fasforge('build', 'start', buildFile('cli-q'), '--id', id);
  expect(started).toMatchObject({ code: 0 });
  expect(started.out).toContain(`follow it: npx fasforge build status '${id.replace("'", `'\\''`)}' --watch`);
  await client.workflow.getHandle(id).terminate('test done');
  const status = await fasforge('build', 'status', id);
  expect(status.code).toBe(1);
  expect(status.out).toContain('TERMINATED');
});

test("a bad list query shows the server's reason", async () => {
  const garbage = await fasforge('build', 'list', '--query', 'garbage ((');
  expect(garbage.code).toBe(1);
  expect(garbage.err).toMatch(/^fasforge: cannot list builds: \S.* \(query: garbage \(\(\)$/m);
  expect(garbage.err).not.toContain('Failed to list workflows');
  const misspelled = await fasforge('build', 'list', '--query', "FasforgeStag='review'");
  expect(misspelled.code).toBe(1);
  expect(misspelled.err).toMatch(/cannot list builds: .*FasforgeStag/);
});

test('cancel stops a running build; an unknown id is a clear error', async () => {
  const id = `cli-cancel-${Date.now()}`;
  expect(await fasforge('build', 'start', buildFile('cli-c'), '--id', id)).toMatchObject({ code: 0 });
  const cancelled = await fasforge('build', 'cancel', id);
  expect(cancelled).toMatchObject({ code: 0 });
  expect(cancelled.out).toContain(`cancellation requested for build ${id}`);
  await expect(client.workflow.getHandle(id).result()).rejects.toThrow();
  expect((await client.workflow.getHandle(id).describe()).status.name).toBe('CANCELLED');
  expect(await fasforge('build', 'status', id)).toMatchObject({ code: 1 });
  const exported = await fasforgeWith({ DATABASE_URL: db.url }, 'export', id, '--out', path.join(home, 'x-cancel'));
  expect(exported.code).toBe(1);
  expect(exported.err).toContain(`build ${id} was cancelled — nothing to export`);

  const missing = await fasforge('build', 'status', 'no-such-build');
  expect(missing.code).toBe(1);
  expect(missing.err).toContain('no workflow with id no-such-build in namespace default');
});

test('every command has --help', async () => {
  for (const args of [
    [],
    ['build'],
    ['build', 'start'],
    ['build', 'status'],
    ['build', 'list'],
    ['build', 'cancel'],
    ['dev'],
    ['workers'],
    ['demo'],
  ]) {
    const help = await fasforge(...args, '--help');
    expect({ args, code: help.code }).toEqual({ args, code: 0 });
    expect(help.out).toMatch(/^Usage: fasforge/);
  }
});
