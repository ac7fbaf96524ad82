/**
 * Shared worker bootstrap: builds the clients once — database, model endpoints, CLIP session —
 * and creates the worker for each task queue with its activities wired in.
 */
import { DefaultLogger, type NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import OpenAI from 'openai';
import { createClipActivities, createLlmActivities, createPipelineActivities, type Assets } from '../activities';
import { loadClipModel, type ClipScorer } from '../activities/clip/scorer';
import { createModelGateway } from '../activities/model-api/gateway';
import { loadAssets } from '../config/assets';
import { EnvError, type FasforgeEnv } from '../config/env';
import type { OpenDatabase } from '../db/client';
import { TASK_QUEUES } from '../workflows/constants';

export type Queue = keyof typeof TASK_QUEUES;
export const QUEUES: Queue[] = ['pipeline', 'llm', 'clip'];

let runtimeInstalled = false;

/** Installs the one runtime logger of this process; later calls keep the first. */
export function installRuntime(level: LogLevel = 'INFO'): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  runtimeInstalled = true;
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
  const client = new OpenAI({
    baseURL: conf.baseUrl,
    apiKey: conf.apiKey ?? 'not-needed',
    // Temporal owns retries: the client retries at most once, within the activity's timeout.
    maxRetries: 0,
    timeout: env.modelTimeoutMs,
  });
  return { client, envPrefix: prefix };
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const { env, database, connection } = setup;
  const assets: Assets = loadAssets();
  const db = database.db;
  const workers: Worker[] = [];
  const base = { connection, namespace: env.namespace, ...(setup.identity ? { identity: setup.identity } : {}) };
  for (const queue of setup.queues) {
    if (queue === 'pipeline') {
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: TASK_QUEUES.pipeline,
          ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
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
