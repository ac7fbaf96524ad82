/**
 * CLI entry of the simulator: `npx tsx simulator/main.ts --port 8400 --refusal-rate 0.1`.
 * Prints the base URL and serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { SIMULATOR_FLAGS, simulatorFlagHelp, simulatorOptionsFrom } from './flags';
import { startSimulator } from './index';

const USAGE = `Usage: tsx simulator/main.ts [options]
  --port <n>  TCP port (default 8400; 0 = any free port)
${simulatorFlagHelp()}
  --help      show this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8400' },
      ...Object.fromEntries(SIMULATOR_FLAGS.map((f) => [f.flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port expects a port, got "${values.port}"`);
  const simulator = await startSimulator({ ...simulatorOptionsFrom(values), port });
  console.log(`fasforge simulator listening at ${simulator.url}`);
  const stop = (): void => {
    void simulator.close().then(() => {
      console.log(
        `fasforge simulator stopped: ${JSON.stringify({ ...simulator.stats(), faults: simulator.faults() })}`,
      );
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(USAGE);
  process.exit(1);
});
