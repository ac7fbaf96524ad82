/**
 * `fasforge demo` as a user runs it: a separate process, the embedded database, its own Temporal
 * dev server, the bundled samples. The export must pass the LLaVA check and the funnel must add up.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from '../../config/env';
import { findTemporalCli } from '../../cli/temporal-dev';
import { expectFunnelAddsUp } from '../support/funnel';
import { readLlava } from '../support/llava';
import { DEMO_PORT } from '../support/env';

jest.setTimeout(600_000);

const root = path.resolve(__dirname, '..', '..');

test('the demo builds the bundled samples end to end and the dev server lists the build', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-demo-'));
  const cli = findTemporalCli(parseEnv());
  const env: NodeJS.ProcessEnv = { ...process.env, FASFORGE_HOME: home, ...(cli ? { TEMPORAL_CLI: cli } : {}) };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'FASFORGE_VISION_BASE_URL', 'FASFORGE_TEXT_BASE_URL']) delete env[k];
  const port = DEMO_PORT;
  const child = spawn(process.execPath, [path.join(root, 'cli', 'bin.js'), 'demo', '--port', String(port)], { env, cwd: os.tmpdir() });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    expect({ code, tail: code === 0 ? '' : out.slice(-3000) }).toEqual({ code: 0, tail: '' });
    const exportLine = out.split('\n').filter((l) => l.startsWith('export: ')).pop();
    expect(exportLine).toBeDefined();
    const dir = exportLine!.slice('export: '.length).trim();
    expect(path.isAbsolute(dir)).toBe(true);

    const pretrain = readLlava(dir, 'pretrain.json');
    const sft = readLlava(dir, 'sft.json');
    expect(pretrain.length).toBeGreaterThan(0);
    expect(sft.length).toBeGreaterThan(0);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const tasks = new Set([...Object.keys(summary.counts.pretrain.byTask), ...Object.keys(summary.counts.sft.byTask)]);
    expect(tasks.size).toBe(5);
    expectFunnelAddsUp(summary.funnel);
    // 42 SiW-Mv2 sample images and 5 PADISI-Face samples.
    expect(summary.funnel.find((s: { stage: string }) => s.stage === 'ingest').in).toBe(47);
    expect(out).toContain('approveReview');

    const temporal = env.TEMPORAL_CLI ?? path.join(home, 'tools', 'temporal-venv', 'bin', 'temporal');
    const list = execFileSync(temporal, ['workflow', 'list', '--address', `127.0.0.1:${port}`], { encoding: 'utf8' });
    expect(list).toContain(summary.buildId);
    expect(list).toContain('buildDatasetWorkflow');
  } finally {
    const pidFile = path.join(home, `temporal-${port}.pid`);
    if (fs.existsSync(pidFile)) {
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {
        // already stopped
      }
    }
  }
});
