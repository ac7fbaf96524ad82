/**
 * A fresh PostgreSQL database for one benchmark run: dropped and created again under `name` on
 * the server of `adminUrl` (DATABASE_URL, or the machine's local server), migrations applied.
 */
import { Client as PgClient } from 'pg';
import { openDatabase, type OpenDatabase } from '../db/client';

export const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates the database and returns its URL, without opening it. */
export async function createBenchDatabase(name: string, adminUrl: string | undefined): Promise<string> {
  const admin = adminUrl ?? LOCAL_ADMIN_URL;
  const c = new PgClient({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function freshDatabase(
  name: string,
  adminUrl: string | undefined,
  poolSize?: number,
): Promise<OpenDatabase> {
  return openDatabase({ url: await createBenchDatabase(name, adminUrl), embeddedDir: '', poolSize });
}
