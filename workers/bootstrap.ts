/**
 * Shared worker bootstrap: builds the clients once — database, model endpoints, CLIP session —
 * and creates the worker for each task queue with its activities wired in.
 */
import {
  DefaultLogger,
  type LogEntry,
  type LogLevel,
  type NativeConnection,
  Runtime,
  Worker,
  type WorkerInterceptors,
  type WorkerOptions,
} from '@temporalio/worker';
import { createClipActivities, createLlmActivities, createPipelineActivities, type Assets } from '../activities';
import { loadClipModel, type ClipScorer } from '../activities/clip/scorer';
import { createEndpoint, createModelGateway } from '../activities/model-api/gateway';
import { loadAssets } from '../config/assets';
import { EnvError, type FasforgeEnv } from '../config/env';
import type { OpenDatabase } from '../db/client';
import { TASK_QUEUES } from '../workflows/constants';
import { activeTracing } from './tracing';

export type Queue = keyof typeof TASK_QUEUES;
export const QUEUES: Queue[] = ['pipeline', 'llm', 'clip'];

let runtimeInstalled = false;

/**
 * Installs the one runtime logger of this process; later calls keep the first. Workflow and
 * activity loggers (`log` from the SDKs) and the SDK core's own logs all go through it, one line
 * each on stderr: time, level, the fixed message, then its attributes as JSON.
 */
export function installRuntime(level: LogLevel = 'INFO'): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new DefaultLogger(level, writeLogLine),
    telemetryOptions: {
      logging: {
        filter: { core: level === 'TRACE' || level === 'DEBUG' ? 'INFO' : 'WARN', other: 'ERROR' },
        forward: {},
      },
    },
  });
  runtimeInstalled = true;
}

function writeLogLine(entry: LogEntry): void {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta && Object.keys(entry.meta).length ? ` ${safeJson(entry.meta)}` : '';
  process.stderr.write(`${time} ${entry.level.padEnd(5)} ${entry.message}${meta}\n`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'bigint' ? String(v) : v instanceof Error ? v.message : v,
    );
  } catch {
    return '"<unserialisable attributes>"';
  }
}

export interface WorkerSetup {
  env: FasforgeEnv;
  database: OpenDatabase;
  connection: NativeConnection;
  queues: Queue[];
  /** Bundled workflow code, to skip re-bundling when several workers start in one process. */
  workflowBundle?: { code: string };
  /** Identity suffix, to tell several workers of one queue apart. */
  identity?: string;
  /** Extra activity interceptors, e.g. to count what each worker ran. */
  activityInterceptors?: NonNullable<WorkerInterceptors['activity']>;
}

function endpoint(role: 'vision' | 'text', env: FasforgeEnv) {
  const prefix = role === 'vision' ? 'FASFORGE_VISION' : 'FASFORGE_TEXT';
  const conf = env[role];
  if (!conf.baseUrl) {
    throw new EnvError(
      `${prefix}_BASE_URL is not set: point it at an OpenAI-compatible server (OpenAI, vLLM, Ollama, LM Studio) ` +
        'or run `npx fasforge simulator` and use the URL it prints',
    );
  }
  // Temporal owns retries: the client never retries, and times out within the activity's timeout.
  return createEndpoint({ ...conf, baseUrl: conf.baseUrl }, prefix, env.modelTimeoutMs);
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const { env, database, connection } = setup;
  const assets: Assets = loadAssets();
  const db = database.db;
  const workers: Worker[] = [];
  const tracing = activeTracing()?.workerOptions();
  const interceptors: WorkerInterceptors = {
    ...tracing?.interceptors,
    activity: [...(tracing?.interceptors?.activity ?? []), ...(setup.activityInterceptors ?? [])],
  };
  const base: Pick<WorkerOptions, 'connection' | 'namespace' | 'identity' | 'interceptors' | 'sinks'> = {
    connection,
    namespace: env.namespace,
    interceptors,
    ...(tracing?.sinks ? { sinks: tracing.sinks } : {}),
    ...(setup.identity ? { identity: setup.identity } : {}),
  };
  for (const queue of setup.queues) {
    if (queue === 'pipeline') {
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: TASK_QUEUES.pipeline,
          ...(setup.workflowBundle
            ? { workflowBundle: setup.workflowBundle }
            : { workflowsPath: require.resolve('../workflows') }),
          activities: createPipelineActivities(db, env, assets),
        }),
      );
    } else if (queue === 'llm') {
      const gateway = createModelGateway(db, { vision: endpoint('vision', env), text: endpoint('text', env) });
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: TASK_QUEUES.llm,
          activities: createLlmActivities(db, gateway, assets),
          maxConcurrentActivityTaskExecutions: env.llmConcurrency,
          ...(env.llmActivitiesPerSecond > 0 ? { maxTaskQueueActivitiesPerSecond: env.llmActivitiesPerSecond } : {}),
        }),
      );
    } else {
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: TASK_QUEUES.clip,
          activities: createClipActivities(db, lazyClip(env)),
          maxConcurrentActivityTaskExecutions: 2,
        }),
      );
    }
  }
  return workers;
}

/** Loads the CLIP model on first use and keeps the session for the worker's life. */
export function lazyClip(env: FasforgeEnv): () => Promise<ClipScorer> {
  let loading: Promise<ClipScorer> | undefined;
  return () => {
    if (!loading) {
      const started = loadClipModel(env.clipModelDir, { logger: Runtime.instance().logger });
      // A failed load is retried on the next call rather than cached.
      started.catch(() => (loading = undefined));
      loading = started;
      return started;
    }
    return loading;
  };
}
