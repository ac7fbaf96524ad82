/**
 * Build preparation on a real PostgreSQL database: relative paths are refused naming each field,
 * since a worker would resolve them against its own current folder; absolute ones are recorded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { prepareBuild } from '../../../activities/files/prepare';
import { readBuildFile } from '../../../cli/build-file';
import { parseEnv, type FasforgeEnv } from '../../../config/env';
import type { Db } from '../../../db/client';
import { builds } from '../../../db/schema';
import { createTestDatabase } from '../../support/env';

const samples = path.resolve(__dirname, '..', '..', '..', 'samples');
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let tmp: string;
let env: FasforgeEnv;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-prepare-'));
  env = parseEnv({ ...process.env, FASFORGE_HOME: path.join(tmp, 'home') });
});

afterAll(async () => {
  await testDb?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Regression: `"root": "samples/siw-mv2"` sent through the Temporal CLI was resolved silently
// against the worker's current folder.
test('relative paths are refused, naming every such field and saying to use absolute paths', async () => {
  const raw = {
    sources: [
      {
        name: 'a',
        adapter: 'siw-mv2',
        root: 'samples/siw-mv2',
        spoofRegions: 'samples/siw-mv2/spoof-regions.coco.json',
      },
      { name: 'b', adapter: 'manifest', root: path.join(samples, 'x.csv'), manifestRoot: './images' },
    ],
    export: { dir: 'out' },
  };
  const err = await prepareBuild(db, env, { buildId: 'rel', raw }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'BuildInputError', nonRetryable: true });
  const message = (err as Error).message;
  for (const field of [
    'sources.0.root: "samples/siw-mv2"',
    'sources.0.spoofRegions: "samples/siw-mv2/spoof-regions.coco.json"',
    'sources.1.manifestRoot: "./images"',
    'export.dir: "out"',
  ]) {
    expect(message).toContain(`${field} is a relative path`);
  }
  expect(message).not.toContain('sources.1.root');
  expect(message).toContain('write an absolute path');
  expect(message).toContain('fasforge build start');
  expect(await db.select().from(builds).where(eq(builds.id, 'rel'))).toHaveLength(0);
});

test('absolute paths are accepted, normalised and recorded', async () => {
  const root = path.join(samples, 'siw-mv2');
  const prepared = await prepareBuild(db, env, {
    buildId: 'abs',
    raw: {
      sources: [{ name: 'a', adapter: 'siw-mv2', root: `${root}/../siw-mv2` }],
      export: { dir: path.join(tmp, 'out') },
    },
  });
  expect(prepared.input.sources[0]!.root).toBe(root);
  expect(prepared.exportDir).toBe(path.join(tmp, 'out'));
  expect(await db.select().from(builds).where(eq(builds.id, 'abs'))).toHaveLength(1);
});

test('a build file with relative paths, read by `fasforge build start`, passes preparation', async () => {
  const folder = path.join(tmp, 'project');
  fs.mkdirSync(path.join(folder, 'data'), { recursive: true });
  fs.cpSync(path.join(samples, 'siw-mv2'), path.join(folder, 'data', 'siw'), { recursive: true });
  const file = path.join(folder, 'build.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      sources: [{ name: 's', adapter: 'siw-mv2', root: 'data/siw', spoofRegions: 'data/siw/spoof-regions.coco.json' }],
      export: { dir: 'out' },
    }),
  );
  const prepared = await prepareBuild(db, env, { buildId: 'from-file', raw: readBuildFile(file) });
  expect(prepared.input.sources[0]).toMatchObject({
    root: path.join(folder, 'data', 'siw'),
    spoofRegions: path.join(folder, 'data', 'siw', 'spoof-regions.coco.json'),
  });
  expect(prepared.exportDir).toBe(path.join(folder, 'out'));
});
