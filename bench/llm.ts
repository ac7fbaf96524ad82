/**
 * `npm run bench:llm -- --latency-ms 200 --concurrency 32`: how close model calls come to the
 * ideal throughput of `concurrency / latency` against the simulator (run as a separate process,
 * so its CPU is not counted) at a fixed latency. Two modes side by side in one run:
 * - `http`: the openai client alone, the ceiling for this machine;
 * - `activity`: the generation activity as the llm worker runs it (gateway, response cache and
 *   call ledger in PostgreSQL, image read and encoded, record and verdict writes), over distinct images.
 * Prints requests per second, the ratio to the ideal and the process's CPU use; the last line is
 * one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { createLlmActivities, createPipelineActivities } from '../activities';
import { createEndpoint, createModelGateway } from '../activities/model-api/gateway';
import { loadAssets } from '../config/assets';
import { parseEnv, projectRoot } from '../config/env';
import { queryRows } from '../db/client';
import { freshDatabase } from './database';
import { copySamples } from './samples';

const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    requests: { type: 'string' },
  },
});
const latencyMs = Number(values['latency-ms']);
const concurrency = Number(values.concurrency);
if (!(latencyMs > 0)) throw new Error('--latency-ms must be a positive number');
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
  throw new Error('--concurrency must be 1–64');
const TASKS = ['pretrain', 'coarse', 'fine', 'reasoning'] as const;
const images = Math.ceil(Number(values.requests ?? concurrency * 25) / TASKS.length);
const requests = images * TASKS.length;
const ideal = concurrency / (latencyMs / 1000);

/** The simulator in its own process; resolves with its base URL. */
function startSimulatorProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(projectRoot, 'simulator', 'main.ts'),
      '--port',
      '0',
      '--latency-ms',
      String(latencyMs),
      '--seed',
      'bench-llm',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening at (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${code}`)));
  });
}

interface Measured {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  ofIdeal: number;
  cpuSeconds: number;
  /** CPU time over wall time: 1.0 is one core busy. */
  cpuCores: number;
  cpuMsPerRequest: number;
}

async function measure(count: () => Promise<number>, run: () => Promise<void>): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const made = await count();
  return {
    requests: made,
    seconds: round(seconds),
    requestsPerSecond: round(made / seconds),
    ofIdeal: round(made / seconds / ideal),
    cpuSeconds: round(cpuSeconds),
    cpuCores: round(cpuSeconds / seconds),
    cpuMsPerRequest: round((cpuSeconds * 1000) / made),
  };
}

async function lanes(n: number, total: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

async function main(): Promise<void> {
  const root = await copySamples(images, 'fasforge-bench-llm');
  const sim = await startSimulatorProcess();
  const env = parseEnv();
  const db = await freshDatabase('fasforge_bench_llm', env.databaseUrl, concurrency + 4);
  try {
    // The openai client alone, with one image as data URL per request.
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'none', maxRetries: 0 });
    const sample = fs.readdirSync(root, { recursive: true, withFileTypes: true }).find((d) => d.isFile())!;
    const dataUrl = `data:image/jpeg;base64,${fs.readFileSync(path.join(sample.parentPath, sample.name)).toString('base64')}`;
    let sent = 0;
    const http = await measure(
      async () => sent,
      () =>
        lanes(concurrency, requests, async (i) => {
          await client.chat.completions.create({
            model: 'bench',
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'image_url', image_url: { url: dataUrl } },
                  { type: 'text', text: `request ${i}` },
                ],
              },
            ],
          });
          sent += 1;
        }),
    );

    // The generation activity over `images` distinct images, one batch at the given concurrency.
    const assets = loadAssets();
    const pipe = createPipelineActivities(db.db, env, assets);
    // The endpoint holds `concurrency` requests in flight; twice as many record lanes keep it fed
    // while others write their results.
    const endpoint = createEndpoint({ baseUrl: sim.url, maxInFlight: concurrency }, 'FASFORGE_VISION', 60_000);
    const llm = createLlmActivities(db.db, createModelGateway(db.db, { vision: endpoint, text: endpoint }), assets);
    const buildId = `bench-llm-${Date.now()}`;
    const raw = {
      name: 'bench llm',
      sources: [{ name: 'bench', adapter: 'siw-mv2', root, nearDuplicateDistance: -1 }],
      tasks: [...TASKS],
      export: { dir: path.join(root, 'export') },
    };
    const prepared = await pipe.prepareBuild({ buildId, raw });
    await pipe.ingestSources({ buildId, input: prepared.input });
    const [range] = await pipe.planBatches({ buildId, kind: 'images', batchSize: images });
    const generation = { ...prepared.input.generation, concurrency: Math.min(64, 2 * concurrency) };
    const activity = await measure(
      async () => {
        const [row] = await queryRows<{ n: string }>(
          db.db,
          sql`select count(*) as n from model_calls where build_id = ${buildId} and not cache_hit`,
        );
        return Number(row?.n ?? 0);
      },
      async () => {
        await llm.generateRecords({
          buildId,
          range: range!,
          tasks: [...TASKS],
          generation,
          model: prepared.models.vision,
        });
      },
    );

    const load = os.loadavg().map(round);
    const result = {
      latencyMs,
      concurrency,
      idealRequestsPerSecond: round(ideal),
      http,
      activity,
      cores: os.cpus().length,
      load,
    };
    const line = (name: string, m: Measured) =>
      `${name.padEnd(9)} ${m.requests} requests in ${m.seconds}s: ${m.requestsPerSecond} req/s = ${Math.round(m.ofIdeal * 100)}% of ideal; ` +
      `CPU ${m.cpuSeconds}s (${m.cpuCores} cores, ${m.cpuMsPerRequest} ms/request)`;
    console.log(
      `ideal: ${concurrency} in flight / ${latencyMs} ms = ${round(ideal)} req/s (${os.cpus().length} cores, load ${load.join(' ')})`,
    );
    console.log(line('http', http));
    console.log(line('activity', activity));
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
    sim.child.kill('SIGTERM');
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
