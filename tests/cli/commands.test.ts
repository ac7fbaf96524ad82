/**
 * The `fasforge` subcommands load their code through the same tsx loader as the demo, and `dev`
 * runs the local stack until Ctrl-C.
 * Regression: `workers` and `simulator` once crashed at start because they were loaded with a
 * dynamic import the CommonJS loader could not resolve.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_ADDRESS } from '../support/env';

const bin = path.resolve(__dirname, '..', '..', 'cli', 'bin.js');

function runUntil(
  args: string[],
  env: NodeJS.ProcessEnv,
  pattern: RegExp,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (pattern.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('the simulator command starts and prints its URL', async () => {
  const { out } = await runUntil(['simulator', '--port', '0'], {}, /model simulator at http/);
  expect(out).toMatch(/fasforge model simulator at http:\/\/127\.0\.0\.1:\d+\/v1/);
});

test('the workers command loads and says which setting is missing', async () => {
  const { code, out } = await runUntil(
    ['workers'],
    {
      FASFORGE_VISION_BASE_URL: '',
      DATABASE_URL: '',
      FASFORGE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-cmd-')),
      TEMPORAL_ADDRESS,
    },
    /BASE_URL|workers:/,
  );
  expect(out).not.toMatch(/Cannot find module/);
  expect(out).toMatch(/FASFORGE_VISION_BASE_URL is not set/);
  expect(code).not.toBe(0);
});

test('dev runs the workers and simulator, prints what other shells need, and stops cleanly on Ctrl-C', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-dev-test-'));
  const env = {
    FASFORGE_HOME: home,
    TEMPORAL_ADDRESS,
    DATABASE_URL: '',
    FASFORGE_VISION_BASE_URL: '',
    FASFORGE_TEXT_BASE_URL: '',
  };
  const child = spawn(process.execPath, [bin, 'dev', '--simulator-port', '0'], { env: { ...process.env, ...env } });
  let out = '';
  const ready = new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      out += d;
      if (/npx fasforge build status/.test(out)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await Promise.race([ready, exited]);
  expect(out).toContain('fasforge dev is running');
  expect(out).toMatch(/simulator +http:\/\/127\.0\.0\.1:\d+\/v1/);
  expect(out).toContain(`database   pglite at ${path.join(home, 'pglite')}`);
  expect(out).toContain(`export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS} FASFORGE_HOME=${home}`);
  // The embedded database is held while dev runs, and released when it stops.
  expect(fs.existsSync(path.join(home, 'pglite.lock'))).toBe(true);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).not.toMatch(/^fasforge: /m);
  expect(fs.existsSync(path.join(home, 'pglite.lock'))).toBe(false);
});
