/**
 * The `fasforge` command line, parsed with commander. Every command has `--help`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseEnv } from '../config/env';
import { SIMULATOR_FLAGS, simulatorOptionsFrom, startSimulator } from '../simulator';
import { QUEUES, type Queue } from '../workers/bootstrap';
import { runWorkers } from '../workers/run';
import { activeTracing, setupTracing } from '../workers/tracing';
import {
  cancelBuild,
  cannotReachMessage,
  connectClient,
  DEFAULT_ADDRESS,
  followCommand,
  isConnectionError,
  formatListing,
  listBuilds,
  printStatus,
  resolveTarget,
  startBuild,
  statusExitCode,
  workflowUrl,
} from './build';
import { DEMO_BUILD_FILE, runDemo } from './demo';
import { registerReviewCommands } from './review';
import { registerCatalogCommand } from './catalog';
import { registerExportCommands } from './export';
import { registerModelsCommands } from './models';
import { runDev } from './dev';
import { findTemporalCli, installTemporalCli } from './temporal-dev';
import { isVerbose, setVerbose } from './verbose';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer 0–65535');
  return n;
};

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
};

interface GlobalOptions {
  verbose: boolean;
  address?: string;
  namespace?: string;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('fasforge')
    .description('Build FaceShield-style face anti-spoofing instruction datasets on Temporal')
    .option('-v, --verbose', 'debug output: connections and queries, worker logs at DEBUG, stack traces', false)
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)')
    .showHelpAfterError();
  program.hook('preAction', () => {
    const g = program.opts<GlobalOptions>();
    setVerbose(g.verbose);
    setupTracing(parseEnv());
  });
  const target = () => {
    const g = program.opts<GlobalOptions>();
    return resolveTarget(parseEnv(), { address: g.address, namespace: g.namespace });
  };
  const client = () => {
    const t = target();
    return connectClient(parseEnv(), t.address, t.namespace);
  };

  program
    .command('demo')
    .description('run a whole build over the bundled samples, starting whatever is missing')
    .option('--build <file>', 'build file to run instead of the bundled samples', DEMO_BUILD_FILE)
    .option('--stop-server', 'stop the Temporal dev server afterwards if the demo started it', false)
    .option('--port <port>', 'Temporal frontend port for the dev server (web UI on port + 1000)', port)
    .action(async (o: { build: string; stopServer: boolean; port?: number }) => {
      await runDemo({ buildFile: o.build, stopServer: o.stopServer, port: o.port });
    });

  const build = program.command('build').description('start, follow, list and cancel builds');
  build
    .command('start <file>')
    .description('start a build from a JSON build file; prints its workflow id and web UI link')
    .option('--id <workflowId>', 'workflow id to use (a build id is unique per namespace); default build-<time>')
    .action(async (file: string, o: { id?: string }) => {
      const c = await client();
      try {
        const id = await startBuild(c, file, o.id);
        console.log(id);
        console.log(`web UI: ${workflowUrl(target(), id)}`);
        console.log(`follow it: ${followCommand(id)}`);
      } finally {
        await c.connection.close();
      }
    });
  build
    .command('status <workflowId>')
    .description("show a build's status and per-stage progress (a child workflow id such as <build>:generate works too)")
    .option('--watch', 'follow until the build finishes, fails or waits for review', false)
    .option('--interval <seconds>', 'seconds between updates with --watch', positive, 1)
    .option('--json', 'print JSON for scripts (with --watch, one JSON object per line per update)', false)
    .addHelpText(
      'after',
      '\nExit status: 1 when the build failed, was cancelled, terminated or timed out (with or without --watch),\n' +
        'else 0 (running, waiting for review, or completed).',
    )
    .action(async (id: string, o: { json: boolean; watch: boolean; interval: number }) => {
      const c = await client();
      try {
        const snap = await printStatus(c, target(), id, o);
        process.exitCode = statusExitCode(snap);
      } finally {
        await c.connection.close();
      }
    });
  build
    .command('list')
    .description('list recent builds with their status and stage')
    .option('--limit <n>', 'how many builds to show', positive, 20)
    .option('--query <visibility query>', `extra filter, e.g. "FasforgeStage='review'" or "ExecutionStatus='Running'"`)
    .option('--json', 'print JSON for scripts', false)
    .action(async (o: { limit: number; query?: string; json: boolean }) => {
      const c = await client();
      try {
        const rows = await listBuilds(c, o);
        if (o.json) console.log(JSON.stringify(rows, null, 2));
        else formatListing(rows).forEach((l) => console.log(l));
      } finally {
        await c.connection.close();
      }
    });
  build
    .command('cancel <workflowId>')
    .description('cancel a running build; rows already written stay, keyed by the build id')
    .action(async (id: string) => {
      const c = await client();
      try {
        await cancelBuild(c, id);
        console.log(`cancellation requested for build ${id}`);
      } finally {
        await c.connection.close();
      }
    });

  registerReviewCommands(program, { client, target });
  registerCatalogCommand(program);
  registerExportCommands(program);
  registerModelsCommands(program);

  program
    .command('dev')
    .description('run a local Temporal dev server, the model simulator and the three workers until Ctrl-C')
    .option(
      '--port <port>',
      "Temporal frontend port for the dev server (web UI on port + 1000; default: a local TEMPORAL_ADDRESS's port, else 7233)",
      port,
    )
    .option('--simulator-port <port>', 'port for the model simulator', port, 8400)
    .option('--keep-server', 'leave the Temporal dev server running after Ctrl-C', false)
    .action(async (o: { port?: number; simulatorPort: number; keepServer: boolean }) => {
      await runDev({ port: o.port, simulatorPort: o.simulatorPort, keepServer: o.keepServer });
    });

  program
    .command('workers')
    .description('run workers for one task queue or all of them')
    .option('--queue <queue>', `one of ${QUEUES.join(', ')} or all`, 'all')
    .action(async (o: { queue: string }) => {
      if (o.queue !== 'all' && !QUEUES.includes(o.queue as Queue))
        throw new Error(`unknown queue ${o.queue}; use ${QUEUES.join(', ')} or all`);
      await runWorkers(o.queue === 'all' ? 'all' : [o.queue as Queue], isVerbose() ? 'DEBUG' : 'INFO');
    });

  const simulator = program
    .command('simulator')
    .description("run fasforge's OpenAI-compatible model simulator, with optional latency and faults")
    .option('--port <port>', 'port to listen on', port, 8400);
  for (const f of SIMULATOR_FLAGS) simulator.option(`--${f.flag} ${f.value}`, f.description);
  simulator.action(async (o: { port: number } & Record<string, unknown>) => {
    const sim = await startSimulator({ ...simulatorOptionsFrom(o), port: o.port });
    console.log(`fasforge model simulator at ${sim.url}`);
    await new Promise(() => undefined);
  });

  program
    .command('setup')
    .description('install tools fasforge needs')
    .command('temporal')
    .description('install the Temporal CLI into the project tool folder unless one is found')
    .action(() => {
      const env = parseEnv();
      const found = findTemporalCli(env);
      console.log(found ? `Temporal CLI: ${found}` : `Temporal CLI installed: ${installTemporalCli(env, console.log)}`);
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (isVerbose() && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    // No command shows a transport's raw error: a server that cannot be reached is said so plainly.
    if (isConnectionError(err)) throw new Error(cannotReachMessage(safeAddress(program.opts<GlobalOptions>()), err));
    throw err;
  } finally {
    await activeTracing()?.shutdown();
  }
}

function safeAddress(g: GlobalOptions): string {
  try {
    return g.address ?? parseEnv().temporalAddress ?? DEFAULT_ADDRESS;
  } catch {
    return g.address ?? DEFAULT_ADDRESS;
  }
}
