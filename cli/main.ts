/**
 * The `fasforge` command line, parsed with commander. Every command has `--help`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseEnv } from '../config/env';
import { startSimulator } from '../simulator';
import { QUEUES, type Queue } from '../workers/bootstrap';
import { runWorkers } from '../workers/run';
import { connectClient, printStatus, startBuild } from './build';
import { DEMO_BUILD_FILE, runDemo } from './demo';
import { findTemporalCli, installTemporalCli } from './temporal-dev';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer 0–65535');
  return n;
};

export async function main(argv: string[]): Promise<void> {
  const program = new Command('fasforge').description(
    'Build FaceShield-style face anti-spoofing instruction datasets on Temporal',
  );

  program
    .command('demo')
    .description('run a whole build over the bundled samples, starting whatever is missing')
    .option('--build <file>', 'build file to run instead of the bundled samples', DEMO_BUILD_FILE)
    .option('--stop-server', 'stop the Temporal dev server afterwards if the demo started it', false)
    .option('--port <port>', 'Temporal frontend port for the dev server (web UI on port + 1000)', port)
    .action(async (o: { build: string; stopServer: boolean; port?: number }) => {
      await runDemo({ buildFile: o.build, stopServer: o.stopServer, port: o.port });
    });

  const build = program.command('build').description('start and follow builds');
  build
    .command('start <file>')
    .description('start a build from a JSON build file; prints its workflow id')
    .option('--id <workflowId>', 'workflow id to use (a build id is unique per namespace)')
    .action(async (file: string, o: { id?: string }) => {
      const client = await connectClient(parseEnv());
      const id = await startBuild(client, file, o.id);
      console.log(id);
      await client.connection.close();
    });
  build
    .command('status <workflowId>')
    .description("show a build's stage and per-stage progress")
    .option('--json', 'print JSON for scripts', false)
    .action(async (id: string, o: { json: boolean }) => {
      const client = await connectClient(parseEnv());
      await printStatus(client, id, o.json);
      await client.connection.close();
    });

  program
    .command('workers')
    .description('run workers for one task queue or all of them')
    .option('--queue <queue>', `one of ${QUEUES.join(', ')} or all`, 'all')
    .action(async (o: { queue: string }) => {
      if (o.queue !== 'all' && !QUEUES.includes(o.queue as Queue))
        throw new Error(`unknown queue ${o.queue}; use ${QUEUES.join(', ')} or all`);
      await runWorkers(o.queue === 'all' ? 'all' : [o.queue as Queue]);
    });

  program
    .command('simulator')
    .description("run fasforge's OpenAI-compatible model simulator")
    .option('--port <port>', 'port to listen on', port, 8400)
    .action(async (o: { port: number }) => {
      const sim = await startSimulator({ port: o.port });
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

  await program.parseAsync(argv);
}
