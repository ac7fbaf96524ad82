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

describe('a Temporal server that cannot be reached is said so plainly', () => {
  const down = '127.0.0.1:1';
  const models = { FASFORGE_VISION_BASE_URL: 'http://127.0.0.1:1/v1', FASFORGE_TEXT_BASE_URL: 'http://127.0.0.1:1/v1' };
  const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-cmd-'));

  test.each([
    ['build list', ['build', 'list']],
    ['build status', ['build', 'status', 'b1']],
    ['workers', ['workers']],
  ])('%s', async (_name, args) => {
    const { code, out } = await runUntil(
      args,
      { ...models, TEMPORAL_ADDRESS: down, DATABASE_URL: '', FASFORGE_HOME: fresh() },
      /(?!)/,
    );
    expect(code).toBe(1);
    expect(out).toMatch(
      /^fasforge: cannot reach Temporal at 127\.0\.0\.1:1: [a-z ]+; start it with npx fasforge dev, or set TEMPORAL_ADDRESS$/m,
    );
    expect(out).not.toMatch(/tonic|TransportError|UNAVAILABLE/);
  });

  test('dev with a remote TEMPORAL_ADDRESS that is down says what to do', async () => {
    const { code, out } = await runUntil(
      ['dev', '--simulator-port', '0'],
      { ...models, TEMPORAL_ADDRESS: '192.0.2.1:7233', DATABASE_URL: '', FASFORGE_HOME: fresh() },
      /(?!)/,
    );
    expect(code).toBe(1);
    expect(out).toContain('fasforge: cannot reach Temporal at 192.0.2.1:7233: ');
    expect(out).toContain('unset TEMPORAL_ADDRESS to have fasforge start a local dev server');
    expect(out).not.toMatch(/tonic|TransportError/);
  });
});

test('workers refuse a model URL that is not an http(s) URL, naming the variable', async () => {
  const { code, out } = await runUntil(
    ['workers'],
    {
      FASFORGE_VISION_BASE_URL: 'notaurl',
      FASFORGE_TEXT_BASE_URL: 'http://127.0.0.1:1/v1',
      DATABASE_URL: '',
      FASFORGE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-cmd-')),
      TEMPORAL_ADDRESS,
    },
    /(?!)/,
  );
  expect(code).toBe(1);
  expect(out).toContain('fasforge: bad environment: FASFORGE_VISION_BASE_URL: expected an http(s) URL');
  expect(out).not.toMatch(/fasforge workers:/);
});

test('a FASFORGE_HOME that is a file is refused before any work', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-cmd-')), 'home-file');
  fs.writeFileSync(file, '');
  const { code, out } = await runUntil(['build', 'list'], { FASFORGE_HOME: file, TEMPORAL_ADDRESS }, /(?!)/);
  expect(code).toBe(1);
  expect(out).toContain(`fasforge: bad environment: FASFORGE_HOME (${file}) is a file; point it at a folder`);
  expect(out).not.toContain('ENOTDIR');
});
