/**
 * The embedded database serves one process. Regression: a second process on the same
 * FASFORGE_HOME used to open the PGlite folder beside the first and read a stale view of it,
 * which gave a wrong export. Each process here is a real Node process (PGlite cannot load in
 * jest's VM context).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(120_000);

const probe = path.join(__dirname, 'pglite-lock-probe.ts');

interface Probe {
  child: ChildProcess;
  /** Resolves with the first line the probe prints. */
  firstLine: Promise<string>;
  exit: Promise<number | null>;
  output(): string;
}

function startProbe(dir: string): Probe {
  const child = spawn(process.execPath, ['--import', 'tsx', probe, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const firstLine = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', () => resolve(out.split('\n')[0] ?? ''));
  });
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, firstLine, exit, output: () => out };
}

test('a second process is refused with the holder pid, and a crashed holder does not block the next one', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-lock-')), 'pglite');
  const first = startProbe(dir);
  expect(await first.firstLine).toBe(`opened ${first.child.pid}`);

  const second = startProbe(dir);
  const refusal = await second.firstLine;
  expect(await second.exit).toBe(3);
  expect(refusal).toMatch(/^refused DatabaseLockedError: /);
  expect(refusal).toContain(`process ${first.child.pid} on ${os.hostname()}`);
  expect(refusal).toContain('DATABASE_URL');

  // The holder dies without releasing its lock; the next process takes the database over.
  first.child.kill('SIGKILL');
  await first.exit;
  expect(fs.existsSync(`${dir}.lock`)).toBe(true);
  const third = startProbe(dir);
  expect(await third.firstLine).toBe(`opened ${third.child.pid}`);

  // A clean close releases the lock for the next process.
  third.child.kill('SIGTERM');
  expect(await third.exit).toBe(0);
  expect(fs.existsSync(`${dir}.lock`)).toBe(false);
  const fourth = startProbe(dir);
  expect(await fourth.firstLine).toBe(`opened ${fourth.child.pid}`);
  fourth.child.kill('SIGTERM');
  expect(await fourth.exit).toBe(0);
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});
