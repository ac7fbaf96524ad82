/**
 * Where the test services are. PostgreSQL defaults to the machine's server on 127.0.0.1:5432;
 * each test file makes its own database there. Temporal runs on a port of its own.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase, type OpenDatabase } from '../../db/client';

/** Overridable so that two test runs on one machine do not share a Temporal server. */
export const TEST_PORT = Number(process.env.FASFORGE_TEST_TEMPORAL_PORT || 17233);
export const TEMPORAL_ADDRESS = `127.0.0.1:${TEST_PORT}`;
/** Port for the demo's own dev server in the demo test. */
export const DEMO_PORT = Number(process.env.FASFORGE_TEST_DEMO_PORT || 17533);
export const STATE_FILE = path.join(__dirname, '..', '..', '.fasforge', `test-temporal-${TEST_PORT}.json`);

export const adminUrl = () => process.env.FASFORGE_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database with migrations applied; `drop()` removes it. */
export async function createTestDatabase(): Promise<{ url: string; database: OpenDatabase; drop(): Promise<void> }> {
  const name = `fasforge_test_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), embeddedDir: '' });
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close().catch(() => undefined);
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
