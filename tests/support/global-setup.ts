/**
 * Starts one real Temporal dev server (in memory, on its own port) for the whole test run, and
 * checks that the PostgreSQL server the tests use is reachable.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { parseEnv } from '../../config/env';
import {
  findTemporalCli,
  installTemporalCli,
  registerSearchAttributes,
  SEARCH_ATTRIBUTES,
  waitForServer,
} from '../../cli/temporal-dev';
import { TEST_PORT, STATE_FILE, adminUrl } from './env';

export default async function globalSetup(): Promise<void> {
  // Video sources need ffmpeg; the script installs it when missing (as root) or says how.
  execFileSync(path.join(__dirname, '..', '..', 'scripts', 'ensure-system-packages.sh'), { stdio: 'inherit' });
  const pg = new Client({ connectionString: adminUrl() });
  try {
    await pg.connect();
    await pg.query('select 1');
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${adminUrl()} (set FASFORGE_TEST_DATABASE_URL): ${(err as Error).message}`);
  } finally {
    await pg.end().catch(() => undefined);
  }

  const env = parseEnv();
  const cli = findTemporalCli(env) ?? installTemporalCli(env, (m) => process.stdout.write(`${m}\n`));
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(TEST_PORT), '--log-level', 'error'];
  for (const [k, v] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${k}=${v}`);
  fs.mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  const child = spawn(cli, args, { detached: true, stdio: 'ignore' });
  child.unref();
  fs.writeFileSync(STATE_FILE, JSON.stringify({ pid: child.pid, cli }));
  const address = `127.0.0.1:${TEST_PORT}`;
  await waitForServer(address, 90_000, () => child.exitCode !== null);
  await registerSearchAttributes(address, 'default');
}
