/**
 * Opens the build database: PostgreSQL when a URL is given, otherwise an embedded PGlite (real
 * Postgres compiled to WebAssembly) in a data folder, so that a build needs no server. Migrations
 * apply on every open; they are idempotent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import lockfile from 'proper-lockfile';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { Pool } from 'pg';
import * as schema from './schema';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface OpenDatabase {
  db: Db;
  /** `postgres` for a server, `pglite` for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** Where the data lives, with any password removed. */
  location: string;
  close(): Promise<void>;
}

export const migrationsFolder = path.join(__dirname, 'migrations');

export interface OpenDatabaseOptions {
  /** A `postgres://` URL; when absent the embedded database in `embeddedDir` is used. */
  url?: string;
  embeddedDir: string;
  poolSize?: number;
  /** Called when an idle pooled connection fails; the pool has already discarded it. */
  onIdleError?: (err: Error) => void;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenDatabase> {
  if (options.url) {
    const pool = new Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle connection the server closes (a restart, an admin's terminate) is dropped from the
    // pool and replaced on next use; without a listener it would crash the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    const db = drizzlePg(pool, { schema });
    await pool.query('select 1').catch(async (err: Error) => {
      await pool.end().catch(() => undefined);
      throw new DatabaseConnectionError(
        `cannot connect to PostgreSQL at ${redactUrl(options.url!)}: ${err.message || (err as { code?: string }).code}; ` +
          'check DATABASE_URL and that the server is running and accepts this user',
        { cause: err },
      );
    });
    await migrate(redactUrl(options.url), () => migratePg(db, { migrationsFolder })).catch(async (err) => {
      await pool.end();
      throw err;
    });
    return { db: db as unknown as Db, kind: 'postgres', location: redactUrl(options.url), close: () => pool.end() };
  }
  fs.mkdirSync(options.embeddedDir, { recursive: true });
  const release = await lockEmbedded(options.embeddedDir);
  try {
    const client = new PGlite(options.embeddedDir);
    const db = drizzlePglite(client, { schema });
    await migrate(options.embeddedDir, () => migratePglite(db, { migrationsFolder })).catch(async (err) => {
      await client.close().catch(() => undefined);
      throw err;
    });
    const close = async () => {
      try {
        await client.close();
      } finally {
        await release();
      }
    };
    return { db: db as unknown as Db, kind: 'pglite', location: options.embeddedDir, close };
  } catch (err) {
    await release();
    throw err;
  }
}

/** Thrown when the PostgreSQL server named by DATABASE_URL cannot be reached or refuses the login. */
export class DatabaseConnectionError extends Error {
  override name = 'DatabaseConnectionError';
}

/** Thrown when the schema migrations cannot be applied to a database. */
export class DatabaseMigrationError extends Error {
  override name = 'DatabaseMigrationError';
}

/**
 * Applies the migrations; a failure names the database and what to do, since it almost always
 * means the database was written by another fasforge version or by something else.
 */
async function migrate(location: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const cause = err as Error & { cause?: Error };
    const detail = (cause.cause?.message ?? cause.message).split('\n')[0];
    throw new DatabaseMigrationError(
      `cannot apply fasforge's schema migrations to the database at ${location}: ${detail}. ` +
        'It was probably created by another fasforge version or holds other tables; point DATABASE_URL at an ' +
        'empty database, or use a fresh FASFORGE_HOME for the embedded one.',
      { cause: err },
    );
  }
}

/** Thrown when another process holds the embedded database. */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
}

interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * PGlite is one process's database: a second process opening the same folder would read and
 * write it behind the first one's back. A lock directory beside the data folder (kept fresh by
 * proper-lockfile while the process lives) names its holder; a lock left by a process that died
 * on this host is taken over.
 */
async function lockEmbedded(dir: string): Promise<() => Promise<void>> {
  const lockPath = `${path.resolve(dir)}.lock`;
  const holderFile = `${lockPath}.holder.json`;
  const acquire = () =>
    lockfile.lock(dir, {
      lockfilePath: lockPath,
      stale: 30_000,
      realpath: false,
      // A lock this process can no longer keep fresh is reported, not thrown from a timer.
      onCompromised: (err) =>
        process.emitWarning(`the embedded database lock at ${lockPath} was compromised: ${err.message}`),
    });
  let release: () => Promise<void>;
  try {
    release = await acquire();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const holder = readHolder(holderFile);
    if (holder && holder.host === os.hostname() && !processAlive(holder.pid)) {
      fs.rmSync(lockPath, { recursive: true, force: true });
      release = await acquire();
    } else {
      const who = holder
        ? `process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since})`
        : 'another process (it left no holder file)';
      throw new DatabaseLockedError(
        `the embedded database at ${dir} is in use by ${who}. PGlite serves one process at a time: stop that ` +
          'process, or run every worker and command against one PostgreSQL server with DATABASE_URL, ' +
          'or give this process its own FASFORGE_HOME.',
      );
    }
  }
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command:
      process.argv
        .slice(1)
        .map((a) => path.basename(a))
        .join(' ') || 'node',
    since: new Date().toISOString(),
  };
  fs.writeFileSync(holderFile, JSON.stringify(holder));
  return async () => {
    fs.rmSync(holderFile, { force: true });
    await release().catch(() => undefined);
  };
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the password from a connection URL so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable database url>';
  }
}

/** Runs raw SQL and returns its rows; both drivers answer with a `rows` array. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as { rows: T[] };
  return res.rows;
}
