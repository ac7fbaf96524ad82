/**
 * The simulator's command-line flags, one table shared by `fasforge simulator` and
 * `tsx simulator/main.ts`, so both accept the same knobs with the same help text.
 */
import type { SimulatorOptions } from './server';

export interface SimulatorFlag {
  /** Flag name without the dashes, e.g. `latency-ms`. */
  flag: string;
  key: keyof SimulatorOptions;
  kind: 'number' | 'string' | 'list';
  /** Placeholder shown in help, e.g. `<ms>`. */
  value: string;
  description: string;
}

export const SIMULATOR_FLAGS: readonly SimulatorFlag[] = [
  { flag: 'host', key: 'host', kind: 'string', value: '<host>', description: 'interface to bind (default 127.0.0.1)' },
  {
    flag: 'seed',
    key: 'seed',
    kind: 'string',
    value: '<text>',
    description: 'seed of every answer, fault and latency (default fasforge)',
  },
  {
    flag: 'models',
    key: 'models',
    kind: 'list',
    value: '<a,b,...>',
    description: 'models to list and accept (default: any name)',
  },
  {
    flag: 'api-key',
    key: 'apiKey',
    kind: 'string',
    value: '<key>',
    description: 'require "Authorization: Bearer <key>"; others get 401',
  },
  {
    flag: 'latency-ms',
    key: 'latencyMs',
    kind: 'number',
    value: '<ms>',
    description: 'mean sleep before every answer (default 0)',
  },
  {
    flag: 'latency-spread',
    key: 'latencySpread',
    kind: 'number',
    value: '<sigma>',
    description: 'log-normal sigma of the latency around its mean; 0 = fixed (default 0)',
  },
  {
    flag: 'rate-limit-rate',
    key: 'rateLimitRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of first attempts answered 429',
  },
  {
    flag: 'retry-after-seconds',
    key: 'retryAfterSeconds',
    kind: 'number',
    value: '<s>',
    description: 'retry-after of a 429 (default 1)',
  },
  {
    flag: 'server-error-rate',
    key: 'serverErrorRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of first attempts answered 500',
  },
  {
    flag: 'timeout-rate',
    key: 'timeoutRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of first attempts that hang',
  },
  {
    flag: 'hang-ms',
    key: 'hangMs',
    kind: 'number',
    value: '<ms>',
    description: 'how long a hang lasts before a 504 (default 600000)',
  },
  {
    flag: 'malformed-rate',
    key: 'malformedRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of bodies with an unparsable reply',
  },
  {
    flag: 'refusal-rate',
    key: 'refusalRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of bodies answered with a refusal or hedge',
  },
  {
    flag: 'contradiction-rate',
    key: 'contradictionRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of bodies answered against their label',
  },
  {
    flag: 'wrong-box-rate',
    key: 'wrongBoxRate',
    kind: 'number',
    value: '<0..1>',
    description: 'share of localization answers with a wrong box',
  },
];

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Simulator options from parsed flag values, keyed by flag name (`latency-ms`) or by its camel
 * case (`latencyMs`, as commander names them). Throws on a number flag that is not a number.
 */
export function simulatorOptionsFrom(values: Record<string, unknown>): SimulatorOptions {
  const options: Record<string, unknown> = {};
  for (const f of SIMULATOR_FLAGS) {
    const raw = values[f.flag] ?? values[camel(f.flag)];
    if (raw === undefined || raw === null || raw === '') continue;
    const text = String(raw);
    if (f.kind === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(`--${f.flag} expects a number, got "${text}"`);
      options[f.key] = n;
    } else if (f.kind === 'list') {
      options[f.key] = text
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
    } else options[f.key] = text;
  }
  return options as SimulatorOptions;
}

/** Help lines for the flags, aligned. */
export function simulatorFlagHelp(): string {
  const rows = SIMULATOR_FLAGS.map((f) => [`--${f.flag} ${f.value}`, f.description] as const);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, d]) => `  ${l.padEnd(width)}${d}`).join('\n');
}
