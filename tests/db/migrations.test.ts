/**
 * Migrations on a fresh PostgreSQL database and on the embedded PGlite database.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import {
  DatabaseConnectionError,
  DatabaseMigrationError,
  migrationsFolder,
  openDatabase,
  queryRows,
  redactUrl,
  type Db,
} from '../../db/client';
import { builds, images, modelCache, records, verdicts } from '../../db/schema';
import { createTestDatabase } from '../support/env';
import { useTestDatabase, type TestDatabase } from '../support/rows';

const execFileAsync = promisify(execFile);
const TABLES = [
  'build_exports',
  'builds',
  'images',
  'model_cache',
  'model_calls',
  'records',
  'review_decisions',
  'verdicts',
];

async function publicTables(db: Db): Promise<string[]> {
  const rows = await queryRows<{ table_name: string }>(
    db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

async function appliedMigrations(db: Db): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(
    db,
    sql`select count(*) as n from drizzle.__drizzle_migrations`,
  );
  return Number(row?.n);
}

const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
  entries: unknown[];
};

/** Writes one row to each main table and reads it back. */
async function roundTrip(db: Db, buildId: string) {
  await db.insert(builds).values({ id: buildId, config: { name: 'migration test' } });
  const [image] = await db
    .insert(images)
    .values({
      buildId,
      source: 'siw',
      adapter: 'siw-mv2',
      relPath: 'Live/a.png',
      absPath: '/data/Live/a.png',
      nativeLabel: 'Live',
      className: 'Bonafide',
      spoofBox: [1, 2, 3, 4],
      status: 'ok',
    })
    .returning();
  await db.insert(records).values({
    id: `${buildId}:1:coarse`,
    buildId,
    imageSeq: image!.seq,
    set: 'sft',
    task: 'coarse',
    origin: 'generated',
    status: 'active',
    stage: 'generate',
  });
  await db
    .insert(verdicts)
    .values({ buildId, recordId: `${buildId}:1:coarse`, stage: 'generate', verdict: 'kept', detail: { a: 1 } });
  await db.insert(modelCache).values({ key: `${buildId}-key`, model: 'm', content: 'c' });
  const [build] = await db.select().from(builds).where(eq(builds.id, buildId));
  expect(build).toMatchObject({ id: buildId, config: { name: 'migration test' }, stage: 'started' });
  expect(build!.createdAt).toBeInstanceOf(Date);
  expect(image!.spoofBox).toEqual([1, 2, 3, 4]);
  const [v] = await db.select().from(verdicts).where(eq(verdicts.buildId, buildId));
  expect(v?.detail).toEqual({ a: 1 });
}

describe('PostgreSQL', () => {
  let testDb: TestDatabase;
  useTestDatabase((t) => (testDb = t));

  test('migrations create every table on a fresh database', async () => {
    const { db } = testDb.database;
    expect(testDb.database.kind).toBe('postgres');
    expect(await publicTables(db)).toEqual(TABLES);
    expect(await appliedMigrations(db)).toBe(journal.entries.length);
    await roundTrip(db, 'pg-build');
  });

  test('a second open applies nothing again and keeps the data', async () => {
    const second = await openDatabase({ url: testDb.url, embeddedDir: '' });
    try {
      expect(await publicTables(second.db)).toEqual(TABLES);
      expect(await appliedMigrations(second.db)).toBe(journal.entries.length);
      const rows = await second.db.select().from(builds).where(eq(builds.id, 'pg-build'));
      expect(rows).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  test('a database whose tables clash with the schema is refused with what to do', async () => {
    const clash = await createTestDatabase();
    try {
      // Roll the clean database back to before the last migration, then give it a table that
      // migration also creates, as a database left by another version would have.
      await clash.database.db.execute(sql.raw('drop table build_exports'));
      await clash.database.db.execute(sql.raw('create table build_exports (x int)'));
      await clash.database.db.execute(
        sql.raw(
          'delete from drizzle.__drizzle_migrations where id = (select max(id) from drizzle.__drizzle_migrations)',
        ),
      );
      const opening = openDatabase({ url: clash.url, embeddedDir: '' });
      await expect(opening).rejects.toThrow(DatabaseMigrationError);
      await expect(opening).rejects.toThrow(
        /cannot apply fasforge's schema migrations to the database at postgres:.*fresh FASFORGE_HOME/,
      );
    } finally {
      await clash.drop();
    }
  });

  test('an unreachable server is named, without its password, with what to check', async () => {
    const opening = openDatabase({ url: 'postgres://someone:hunter2@127.0.0.1:1/nowhere', embeddedDir: '' });
    await expect(opening).rejects.toThrow(DatabaseConnectionError);
    await expect(opening).rejects.toThrow(
      /cannot connect to PostgreSQL at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: .*check DATABASE_URL/,
    );
    await expect(opening).rejects.not.toThrow(/hunter2/);
  });

  test('the unique indexes that make retries idempotent exist', async () => {
    const rows = await queryRows<{ indexname: string; indexdef: string }>(
      testDb.database.db,
      sql`select indexname, indexdef from pg_indexes where schemaname = 'public' and indexdef like 'CREATE UNIQUE%'`,
    );
    const names = rows.map((r) => r.indexname);
    expect(names).toEqual(
      expect.arrayContaining(['images_build_path', 'records_id', 'verdicts_record_stage', 'model_calls_build_key']),
    );
  });

  test('the location hides the password', () => {
    expect(redactUrl('postgres://user:secret@db.example:5432/fasforge')).toBe(
      'postgres://user:***@db.example:5432/fasforge',
    );
    expect(redactUrl('not a url')).toBe('<unparsable database url>');
    expect(testDb.database.location).not.toContain('secret');
  });
});

describe('embedded PGlite', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-pglite-'));
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // PGlite loads its WebAssembly through a dynamic import, which jest's VM context refuses, so the
  // embedded database is opened by a child Node process (tests/db/pglite-probe.ts).
  test('opens in a temp folder with the same migrations, accepts inserts, and reopens without migrating again', async () => {
    const dataDir = path.join(dir, 'data');
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'pglite-probe.ts'), dataDir],
      {
        cwd: path.join(__dirname, '..', '..'),
      },
    );
    const probe = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(probe.atFirstOpen).toEqual({
      kind: 'pglite',
      location: dataDir,
      tables: TABLES,
      migrations: journal.entries.length,
      builds: 0,
    });
    expect(fs.existsSync(dataDir)).toBe(true);
    expect(probe.inserted).toEqual({
      build: { id: 'pglite-build', config: { name: 'probe' }, stage: 'started' },
      imageSeq: 1,
      spoofBox: [1, 2, 3, 4],
      duplicateRows: 0,
    });
    expect(probe.atSecondOpen).toEqual({ tables: TABLES, migrations: journal.entries.length, builds: 1 });
    expect(probe.verdictAfterReopen).toEqual({ verdict: 'kept', detail: { a: 1 } });
  });
});
