/**
 * The worker and CLI environment, parsed once at start so that a bad value fails before any work.
 * Nothing else reads `process.env`. Empty strings count as unset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues } from './build-input';

const optional = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
/** An integer setting; a bad value is reported as the text given, not as the NaN it parses to. */
const optionalInt = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (v === '' || v === undefined ? fallback : v),
    z.union([z.number(), z.string()]).transform((v, ctx) => {
      const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
        ctx.addIssue({ code: 'custom', message: `expected a whole number ${range}, received ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    }),
  );
/** A model endpoint: an http(s) URL such as http://127.0.0.1:8400/v1. */
const optionalHttpUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .refine(
      (v) => {
        try {
          return ['http:', 'https:'].includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      { error: (i) => `expected an http(s) URL such as http://127.0.0.1:8400/v1, received ${JSON.stringify(i.input)}` },
    )
    .optional(),
);

export const projectRoot = path.resolve(__dirname, '..');

const envSchema = z.object({
  FASFORGE_HOME: optional,
  DATABASE_URL: optional,
  TEMPORAL_ADDRESS: optional,
  TEMPORAL_NAMESPACE: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('default')),
  TEMPORAL_CLI: optional,
  FASFORGE_VISION_BASE_URL: optionalHttpUrl,
  FASFORGE_VISION_API_KEY: optional,
  FASFORGE_VISION_MODEL: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('bunny-llama-3-8b-v')),
  FASFORGE_TEXT_BASE_URL: optionalHttpUrl,
  FASFORGE_TEXT_API_KEY: optional,
  FASFORGE_TEXT_MODEL: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('llama-3-8b-instruct')),
  // Requests in flight per endpoint from one llm worker process; 0 = no limit beyond the activities'.
  FASFORGE_VISION_MAX_IN_FLIGHT: optionalInt(0, 0),
  FASFORGE_TEXT_MAX_IN_FLIGHT: optionalInt(0, 0),
  // At most 25 minutes: a request must end before its activity's 30-minute timeout.
  FASFORGE_MODEL_TIMEOUT_MS: optionalInt(1000, 120_000, 1_500_000),
  FASFORGE_CLIP_MODEL_DIR: optional,
  FASFORGE_LLM_CONCURRENCY: optionalInt(1, 8),
  FASFORGE_LLM_ACTIVITIES_PER_SECOND: optionalInt(0, 0),
  TEMPORAL_UI_URL: optional,
  FASFORGE_TRACING: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['off', 'console', 'otlp']).default('off')),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional,
});

export interface FasforgeEnv {
  home: string;
  databaseUrl?: string;
  temporalAddress?: string;
  namespace: string;
  temporalCli?: string;
  vision: { baseUrl?: string; apiKey?: string; model: string; maxInFlight?: number };
  text: { baseUrl?: string; apiKey?: string; model: string; maxInFlight?: number };
  modelTimeoutMs: number;
  clipModelDir: string;
  llmConcurrency: number;
  /** 0 means no task-queue rate limit. */
  llmActivitiesPerSecond: number;
  /** The web UI of the Temporal server, for links; a dev server's is its port + 1000. */
  temporalUiUrl?: string;
  /** OpenTelemetry tracing of workflows, activities and client calls: off, to the console, or OTLP/HTTP. */
  tracing: { mode: 'off' | 'console' | 'otlp'; otlpEndpoint?: string };
}

export class EnvError extends Error {
  override name = 'EnvError';
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): FasforgeEnv {
  const r = envSchema.safeParse(source);
  if (!r.success) throw new EnvError(`bad environment: ${formatIssues(r.error.issues)}`);
  const e = r.data;
  const home = path.resolve(e.FASFORGE_HOME ?? path.join(projectRoot, '.fasforge'));
  checkHomeFolder(home);
  return {
    home,
    databaseUrl: e.DATABASE_URL,
    temporalAddress: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    temporalCli: e.TEMPORAL_CLI,
    vision: {
      baseUrl: e.FASFORGE_VISION_BASE_URL,
      apiKey: e.FASFORGE_VISION_API_KEY,
      model: e.FASFORGE_VISION_MODEL,
      ...(e.FASFORGE_VISION_MAX_IN_FLIGHT ? { maxInFlight: e.FASFORGE_VISION_MAX_IN_FLIGHT } : {}),
    },
    text: {
      baseUrl: e.FASFORGE_TEXT_BASE_URL,
      apiKey: e.FASFORGE_TEXT_API_KEY,
      model: e.FASFORGE_TEXT_MODEL,
      ...(e.FASFORGE_TEXT_MAX_IN_FLIGHT ? { maxInFlight: e.FASFORGE_TEXT_MAX_IN_FLIGHT } : {}),
    },
    modelTimeoutMs: e.FASFORGE_MODEL_TIMEOUT_MS,
    clipModelDir: path.resolve(e.FASFORGE_CLIP_MODEL_DIR ?? path.join(projectRoot, 'models', 'tiny-clip-standin')),
    llmConcurrency: e.FASFORGE_LLM_CONCURRENCY,
    llmActivitiesPerSecond: e.FASFORGE_LLM_ACTIVITIES_PER_SECOND,
    temporalUiUrl: e.TEMPORAL_UI_URL,
    tracing: { mode: e.FASFORGE_TRACING, otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT },
  };
}

/** FASFORGE_HOME must be a folder, or a path a folder can be made at: no part of it may be a file. */
function checkHomeFolder(home: string): void {
  for (let p = home; ; p = path.dirname(p)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(p);
    } catch {
      // Not there yet: it is created at first use, so look at its parent.
    }
    if (stat && !stat.isDirectory()) {
      const what = p === home ? `FASFORGE_HOME (${home}) is a file` : `FASFORGE_HOME (${home}) lies under ${p}, a file`;
      throw new EnvError(`bad environment: ${what}; point it at a folder`);
    }
    if (stat || path.dirname(p) === p) return;
  }
}
