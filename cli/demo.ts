/**
 * `fasforge demo`: starts whatever is missing (Temporal dev server, embedded database, model
 * simulator, the three workers), runs a build over the bundled samples, approves its review the
 * way a person would, and prints where the export went.
 */
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { parseEnv, projectRoot } from '../config/env';
import { openDatabase } from '../db/client';
import { startSimulator, type RunningSimulator } from '../simulator';
import { createWorkers, installRuntime, QUEUES } from '../workers/bootstrap';
import type { ExportOutput } from '../activities/contracts';
import { approveCommand, connectClient, startBuild } from './build';
import { formatStage, readProgress, readReview } from './progress';
import { ensureTemporal } from './temporal-dev';
import { isVerbose } from './verbose';

export interface DemoOptions {
  buildFile: string;
  stopServer: boolean;
  port?: number;
}

export const DEMO_BUILD_FILE = path.join(projectRoot, 'samples', 'demo-build.json');

export async function runDemo(opts: DemoOptions): Promise<ExportOutput> {
  const say = (msg: string) => console.log(msg);
  let env = parseEnv();
  installRuntime(isVerbose() ? 'DEBUG' : 'WARN');

  let simulator: RunningSimulator | undefined;
  if (!env.vision.baseUrl || !env.text.baseUrl) {
    simulator = await startSimulator({ seed: 'fasforge-demo' });
    say(
      `model simulator: ${simulator.url} (fasforge's own OpenAI-compatible simulator; its answers are simulated, not a real model)`,
    );
    env = {
      ...env,
      vision: { ...env.vision, baseUrl: env.vision.baseUrl ?? simulator.url },
      text: { ...env.text, baseUrl: env.text.baseUrl ?? simulator.url },
    };
  }
  const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
  say(`database: ${database.kind} at ${database.location}`);
  const server = await ensureTemporal(env, { port: opts.port, say });
  say(`temporal: ${server.address}, web UI ${server.uiUrl}`);

  const connection = await NativeConnection.connect({ address: server.address });
  const workers = await createWorkers({ env, database, connection, queues: QUEUES });
  const running = workers.map((w) => w.run());
  const client = await connectClient(env, server.address);
  try {
    const workflowId = await startBuild(
      client,
      opts.buildFile,
      `demo-${new Date()
        .toISOString()
        .replace(/[-:.TZ]/g, '')
        .slice(0, 17)}`,
    );
    say(`build started: workflow id ${workflowId}`);
    say(`  watch it: ${server.uiUrl}/namespaces/${env.namespace}/workflows/${workflowId}`);
    const handle = client.workflow.getHandle(workflowId);
    const result = handle.result() as Promise<ExportOutput>;
    let settled = false;
    result.then(
      () => (settled = true),
      () => (settled = true),
    );

    const printed = new Map<string, string>();
    let approved = false;
    while (!settled) {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      const progress = await readProgress(client, workflowId).catch(() => undefined);
      for (const s of progress?.stages ?? []) {
        const line = formatStage(s);
        if (printed.get(s.stage) !== line) say(`  ${line}`);
        printed.set(s.stage, line);
      }
      const review = await readReview(client, workflowId).catch(() => undefined);
      if (review?.waiting && !approved) {
        say(
          `review: ${review.pending} records await review (${Object.entries(review.bySet)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}).`,
        );
        say('  a reviewer approves with:');
        say(`  ${approveCommand({ address: server.address, namespace: env.namespace }, workflowId)}`);
        say('  demo mode approves automatically now.');
        await handle.signal('approveReview', { reviewer: 'fasforge demo (automatic)', note: 'demo mode' });
        approved = true;
      }
    }
    const out = await result;
    for (const f of out.funnel)
      say(
        `  funnel ${f.stage.padEnd(13)} in ${f.in} kept ${f.kept}${fmt(f.dropped, 'dropped')}${fmt(f.failed, 'failed')}`,
      );
    say(`pretrain records: ${out.counts.pretrain}, SFT records: ${out.counts.sft}`);
    if (!opts.stopServer && server.startedHere)
      say(`the Temporal dev server keeps running (pid ${server.pid}); its web UI is ${server.uiUrl}`);
    say(`export: ${out.dir}`);
    return out;
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await connection.close();
    await database.close();
    await simulator?.close();
    if (opts.stopServer) server.stop();
  }
}

const fmt = (m: Record<string, number>, label: string) =>
  Object.keys(m).length
    ? `  ${label} ${Object.entries(m)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`
    : '';
