/**
 * `fasforge export` and `fasforge diff` as a user runs them: separate processes reading the
 * build from the database alone, with no Temporal server reachable and no model endpoint.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { exportBuild } from '../../activities/files/export';
import { loadAssets } from '../../config/assets';
import { queryRows, type Db } from '../../db/client';
import { createTestDatabase } from '../support/env';
import { readLlava } from '../support/llava';
import { seedSyntheticBuild } from '../support/synthetic-build';

jest.setTimeout(180_000);

const bin = path.resolve(__dirname, '..', '..', 'cli', 'bin.js');
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let tmp: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-export-cli-'));
  const source = path.join(tmp, 'source');
  for (const id of ['build-a', 'build-b']) {
    const b = await seedSyntheticBuild(db, {
      buildId: id,
      root: source,
      imageCount: 30,
      exportDir: path.join(tmp, id),
    });
    await exportBuild(db, loadAssets(), b.input);
  }
});

afterAll(async () => {
  await testDb?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function fasforge(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: testDb.url,
    FASFORGE_HOME: tmp,
    // Nothing listens here: the commands must not need Temporal or a model.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    FASFORGE_VISION_BASE_URL: 'http://127.0.0.1:1/v1',
    FASFORGE_TEXT_BASE_URL: 'http://127.0.0.1:1/v1',
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env, cwd: os.tmpdir() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('re-exports a finished build from the database into a new folder, with the version id of the first export', async () => {
  const out = path.join(tmp, 're-export');
  const r = await fasforge('export', 'build-a', '--out', out, '--json');
  expect(r).toMatchObject({ code: 0 });
  const result = JSON.parse(r.stdout);
  expect(result.dir).toBe(out);
  const first = JSON.parse(fs.readFileSync(path.join(tmp, 'build-a', 'manifest.json'), 'utf8'));
  expect(result.datasetVersion).toBe(first.datasetVersion);
  expect(readLlava(out, 'sft.json').length).toBe(result.counts.sft);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain(first.datasetVersion);
});

test('export says what is wrong for an unknown build and an unknown format', async () => {
  const unknown = await fasforge('export', 'no-such-build', '--out', path.join(tmp, 'x'));
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain('no build no-such-build in this database');
  const bad = await fasforge('export', 'build-a', '--out', path.join(tmp, 'x'), '--formats', 'llava-json,csv');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/unknown format csv/);
});

test('diff lists the records added, removed and changed between two builds, matched by content', async () => {
  const same = JSON.parse((await fasforge('diff', 'build-a', 'build-b', '--json')).stdout);
  expect(same.counts).toMatchObject({ added: 0, removed: 0, changed: 0 });
  expect(same.counts.unchanged).toBeGreaterThan(100);

  // Build B loses one record, revises one answer and gains one augmented pair.
  const ids = await queryRows<{ id: string }>(
    db,
    sql`select id from records where build_id = 'build-b' and status = 'active' and task = 'coarse' order by seq limit 2`,
  );
  const [gone, revised] = ids.map((r) => r.id);
  await db.execute(sql`update records set status = 'dropped', reason = 'rejected_by_reviewer' where id = ${gone}`);
  await db.execute(sql`update records set answer = 'A revised answer.' where id = ${revised}`);
  await db.execute(sql`
    insert into records (id, build_id, image_seq, set, task, origin, parent_id, question, answer, status, stage)
    select id || ':aug1', build_id, image_seq, set, task, 'augmented', id, 'New question?', 'New answer.', 'active', 'judge'
      from records where id = ${revised}`);

  // The same image and task in build A, whose record ids differ (they name the build and image seq).
  const inA = async (idB: string) => {
    const [row] = await queryRows<{ id: string }>(
      db,
      sql`select a.id from records a join images ia on ia.seq = a.image_seq, records b join images ib on ib.seq = b.image_seq
           where b.id = ${idB} and a.build_id = 'build-a' and ia.content_hash = ib.content_hash and a.task = b.task and a.origin = b.origin`,
    );
    return row!.id;
  };
  const r = await fasforge('diff', 'build-a', 'build-b', '--json');
  expect(r.code).toBe(0);
  const diff = JSON.parse(r.stdout);
  expect(diff.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: same.counts.unchanged - 2 });
  expect(diff.added.map((x: { id: string }) => x.id)).toEqual([`${revised}:aug1`]);
  expect(diff.removed.map((x: { id: string }) => x.id)).toEqual([await inA(gone!)]);
  expect(diff.changed).toEqual([
    {
      key: expect.stringMatching(/^[0-9a-f]{64}\/coarse\/generated$/),
      a: await inA(revised!),
      b: revised,
      fields: { answer: { a: expect.any(String), b: 'A revised answer.' } },
    },
  ]);
  expect(diff.matchedBy).toMatch(/content hash/);

  const text = await fasforge('diff', 'build-a', 'build-b');
  expect(text.stdout).toContain(`+ ${revised}:aug1`);
  expect(text.stdout).toContain('build-a -> build-b: 1 added, 1 removed, 1 changed');
  expect((await fasforge('diff', '--help')).stdout).toContain('matched by image content hash');
});
