/**
 * Opens the build database: PostgreSQL when a URL is given, otherwise an embedded PGlite (real
 * Postgres compiled to WebAssembly) in a data folder, so that a build needs no server. Migrations
 * apply on every open; they are idempotent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
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
    await migratePg(db, { migrationsFolder });
    return { db: db as unknown as Db, kind: 'postgres', location: redactUrl(options.url), close: () => pool.end() };
  }
  fs.mkdirSync(options.embeddedDir, { recursive: true });
  const client = new PGlite(options.embeddedDir);
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return { db: db as unknown as Db, kind: 'pglite', location: options.embeddedDir, close: () => client.close() };
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
