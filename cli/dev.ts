/**
 * `fasforge dev`: a local stack for trying builds by hand. Starts what is missing, as the demo
 * does — the Temporal dev server, the model simulator (unless model URLs are set), the database —
 * runs the three workers, prints the addresses and the environment for other shells, and keeps
 * everything running until Ctrl-C.
 */
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { parseEnv, type FasforgeEnv } from '../config/env';
import { openDatabase } from '../db/client';
import { startSimulator, type RunningSimulator } from '../simulator';
import { createWorkers, installRuntime, QUEUES } from '../workers/bootstrap';
import { activeTracing } from '../workers/tracing';
import { DEMO_BUILD_FILE } from './demo';
import { shellQuote } from './build';
import { ensureTemporal, findTemporalCli } from './temporal-dev';
import { isVerbose } from './verbose';

export interface DevOptions {
  /** The dev server's port; default a local TEMPORAL_ADDRESS's port, else 7233. */
  port?: number;
  simulatorPort: number;
  keepServer: boolean;
}

export async function runDev(opts: DevOptions): Promise<void> {
  const say = (msg: string) => console.log(msg);
  let env = parseEnv();
  installRuntime(isVerbose() ? 'DEBUG' : 'WARN');

  let simulator: RunningSimulator | undefined;
  if (!env.vision.baseUrl || !env.text.baseUrl) {
    simulator = await startSimulator({ port: opts.simulatorPort, seed: 'fasforge-dev' });
    env = {
      ...env,
      vision: { ...env.vision, baseUrl: env.vision.baseUrl ?? simulator.url },
      text: { ...env.text, baseUrl: env.text.baseUrl ?? simulator.url },
    };
  }
  const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
  let server: Awaited<ReturnType<typeof ensureTemporal>> | undefined;
  let connection: NativeConnection | undefined;
  try {
    server = await ensureTemporal(env, { port: opts.port, say });
    connection = await NativeConnection.connect({ address: server.address });
    const workers = await createWorkers({ env, database, connection, queues: QUEUES });
    const running = workers.map((w) => w.run());

    const cli = findTemporalCli(env);
    const exports = path.join(env.home, 'exports');
    say('');
    say('fasforge dev is running; Ctrl-C stops it.');
    say(
      `  temporal   ${server.address} (namespace ${env.namespace})${server.startedHere ? `, dev server pid ${server.pid}` : ''}`,
    );
    say(`  web UI     ${server.uiUrl}/namespaces/${env.namespace}/workflows`);
    if (simulator)
      say(`  simulator  ${simulator.url} (fasforge's model simulator: simulated answers, not a real model)`);
    say(`  database   ${database.kind} at ${database.location}`);
    say(`  workers    ${QUEUES.join(', ')}`);
    say(`  exports    ${exports}/<build id>/`);
    if (env.tracing.mode !== 'off') say(`  tracing    ${env.tracing.mode}`);
    say('In another shell:');
    say(`  ${otherShellExports(env, server.address)}`);
    if (cli && cli !== 'temporal') say(`  export PATH="${path.dirname(cli)}:$PATH"   # the Temporal CLI fasforge uses`);
    say(
      `  npx fasforge build start ${path.relative(process.cwd(), DEMO_BUILD_FILE) || DEMO_BUILD_FILE} --id my-first-build`,
    );
    say('  npx fasforge build status my-first-build --watch');

    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await Promise.race([stop, Promise.all(running)]);
    say('stopping the workers…');
    // On Ctrl-C the SDK's runtime has already begun draining its workers; stop the rest.
    workers.filter((w) => w.getState() === 'RUNNING').forEach((w) => w.shutdown());
    await Promise.allSettled(running);
  } finally {
    // Each part closes even if another fails to, so the database lock is always released.
    await closeQuietly(() => connection?.close());
    await closeQuietly(() => database.close());
    await closeQuietly(() => simulator?.close());
    await closeQuietly(() => activeTracing()?.shutdown());
    if (server?.startedHere && !opts.keepServer) {
      server.stop();
      say('stopped the Temporal dev server (its history stays in the fasforge home folder)');
    }
  }
}

/**
 * The `export` line for another shell: the Temporal address, the home folder, and DATABASE_URL when
 * set (commands such as `export` and `review` read the same database). API keys are never printed.
 */
export function otherShellExports(env: Pick<FasforgeEnv, 'home' | 'databaseUrl'>, address: string): string {
  const vars: [string, string][] = [
    ['TEMPORAL_ADDRESS', address],
    ['FASFORGE_HOME', env.home],
    ...(env.databaseUrl ? [['DATABASE_URL', env.databaseUrl] as [string, string]] : []),
  ];
  return `export ${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}`;
}

async function closeQuietly(close: () => Promise<void> | undefined): Promise<void> {
  try {
    await close();
  } catch (err) {
    // The runtime may still be releasing a worker's hold on the connection at Ctrl-C.
    if (isVerbose()) console.error(`while stopping: ${(err as Error).message}`);
  }
}
