/**
 * CLI entry of the simulator: `npx tsx simulator/main.ts --port 8400 --refusal-rate 0.1`.
 * Prints the base URL and serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startSimulator, type SimulatorOptions } from './index';

const USAGE = `Usage: tsx simulator/main.ts [options]
  --port <n>                  TCP port (default 8400; 0 = any free port)
  --host <host>               interface to bind (default 127.0.0.1)
  --seed <text>               seed of all simulated answers and faults (default fasforge)
  --models <a,b,...>          models to list and accept (default: accept any name)
  --latency-ms <n>            sleep before every answer
  --rate-limit-rate <0..1>    share of first attempts answered 429
  --server-error-rate <0..1>  share of first attempts answered 500
  --malformed-rate <0..1>     share of bodies with an unparseable reply
  --refusal-rate <0..1>       share of bodies answered with a refusal
  --contradiction-rate <0..1> share of bodies answered against their label
  --retry-after-seconds <n>   retry-after of a 429 (default 1)
  --help                      show this text`;

function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`--${name} expects a number, got "${value}"`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8400' },
      host: { type: 'string' },
      seed: { type: 'string' },
      models: { type: 'string' },
      'latency-ms': { type: 'string' },
      'rate-limit-rate': { type: 'string' },
      'server-error-rate': { type: 'string' },
      'malformed-rate': { type: 'string' },
      'refusal-rate': { type: 'string' },
      'contradiction-rate': { type: 'string' },
      'retry-after-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const options: SimulatorOptions = {};
  const port = numberFlag('port', values.port);
  if (port !== undefined) options.port = port;
  if (values.host) options.host = values.host;
  if (values.seed) options.seed = values.seed;
  if (values.models) options.models = values.models.split(',').map((m) => m.trim()).filter(Boolean);
  const numeric: Array<[keyof SimulatorOptions & string, string]> = [
    ['latencyMs', 'latency-ms'],
    ['rateLimitRate', 'rate-limit-rate'],
    ['serverErrorRate', 'server-error-rate'],
    ['malformedRate', 'malformed-rate'],
    ['refusalRate', 'refusal-rate'],
    ['contradictionRate', 'contradiction-rate'],
    ['retryAfterSeconds', 'retry-after-seconds'],
  ];
  for (const [key, flag] of numeric) {
    const value = numberFlag(flag, values[flag as keyof typeof values] as string | undefined);
    if (value !== undefined) (options as Record<string, unknown>)[key] = value;
  }

  const simulator = await startSimulator(options);
  console.log(`fasforge simulator listening at ${simulator.url}`);
  const stop = (): void => {
    void simulator.close().then(() => {
      console.log(`fasforge simulator stopped: ${JSON.stringify(simulator.stats())}`);
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
