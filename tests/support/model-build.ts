/**
 * Runs whole builds against a simulator over real HTTP on the test Temporal server, for the
 * model-call tests: workers either from the real bootstrap (environment only) or wired by hand
 * around a given gateway, a fresh build id per run, and the export's summary read back; and the
 * file-wide setup (harness, simulator, fixture set) of every whole-build test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createClipActivities, createLlmActivities, createPipelineActivities } from '../../activities';
import type { ExportOutput, FunnelStage } from '../../activities/contracts';
import type { ModelGateway } from '../../activities/model-api/gateway';
import { loadAssets } from '../../config/assets';
import { parseEnv, type FasforgeEnv } from '../../config/env';
import type { OpenDatabase } from '../../db/client';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import { installRuntime, lazyClip, QUEUES } from '../../workers/bootstrap';
import { TEMPORAL_ADDRESS } from './env';
import { makeFixtureSet, type FixtureSet } from './fixtures';
import { runWorkers } from './workers';

export interface Harness {
  client: Client;
  /** The bundled workflows; reading it throws when the harness was started with `bundle: false`. */
  bundle: { code: string };
  home: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Install the Temporal runtime with WARN logging (default true); off when the test installs its own. */
  runtime?: boolean;
  /** Bundle the workflows once for all workers (default true); off when workers bundle for themselves. */
  bundle?: boolean;
  /** Prefix of the temporary FASFORGE_HOME folder. */
  homePrefix?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (options.runtime !== false) installRuntime('WARN');
  const client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }) });
  const bundle =
    options.bundle === false
      ? undefined
      : await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), options.homePrefix ?? 'fasforge-model-'));
  return {
    client,
    get bundle() {
      if (!bundle) throw new Error('this harness was started without a workflow bundle');
      return bundle;
    },
    home,
    close: async () => {
      await client.connection.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

const quietLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (m: string) => console.error(m),
  log: () => undefined,
};

export function envFor(
  h: Harness,
  dbUrl: string,
  sim: RunningSimulator,
  extra: Record<string, string> = {},
): FasforgeEnv {
  return parseEnv({
    FASFORGE_HOME: h.home,
    DATABASE_URL: dbUrl,
    FASFORGE_VISION_BASE_URL: sim.url,
    FASFORGE_TEXT_BASE_URL: sim.url,
    ...extra,
  });
}

/** Starts workers for all three queues; with `gateway` the llm worker uses it instead of the bootstrap's. */
export async function startWorkers(
  h: Harness,
  env: FasforgeEnv,
  database: OpenDatabase,
  gateway?: ModelGateway,
): Promise<{ stop(): Promise<void> }> {
  if (!gateway) return runWorkers({ env, database, queues: QUEUES, workflowBundle: h.bundle });
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const assets = loadAssets();
  const db = database.db;
  const base = { connection, namespace: env.namespace };
  const workers = [
    await Worker.create({
      ...base,
      taskQueue: 'pipeline',
      workflowBundle: h.bundle,
      activities: createPipelineActivities(db, env, assets),
    }),
    await Worker.create({ ...base, taskQueue: 'llm', activities: createLlmActivities(db, gateway, assets) }),
    await Worker.create({ ...base, taskQueue: 'clip', activities: createClipActivities(db, lazyClip(env)) }),
  ];
  const running = workers.map((w) => w.run());
  return {
    async stop() {
      workers.forEach((w) => w.shutdown());
      await Promise.all(running);
      await connection.close();
    },
  };
}

export interface BuildResult {
  id: string;
  out: ExportOutput;
  summary: Summary;
  stage(name: string): FunnelStage | undefined;
}

export interface Summary {
  funnel: FunnelStage[];
  modelCalls: { made: number; cacheHits: number; promptTokens: number; completionTokens: number };
  cost: {
    total: { calls: number; cacheHits: number; usd: number | null; pricedUsd: number; unpricedCalls: number };
    byStage: Record<string, { calls: number; usd: number | null }>;
    byModel: Record<string, { calls: number; usd: number | null }>;
    budget: { maxUsd?: number; spentUsd: number };
  };
}

let serial = 0;

/** Starts a build and returns its handle; `finish` waits for it and reads the summary. */
export async function startBuild(h: Harness, input: Record<string, unknown>, prefix = 'model') {
  const id = `${prefix}-${Date.now()}-${serial++}`;
  const exportDir = path.join(h.home, id);
  const handle = await h.client.workflow.start('buildDatasetWorkflow', {
    taskQueue: 'pipeline',
    workflowId: id,
    args: [{ review: { required: false }, ...input, export: { dir: exportDir } }],
  });
  return {
    id,
    handle,
    async finish(): Promise<BuildResult> {
      const out = (await handle.result()) as ExportOutput;
      const summary = JSON.parse(fs.readFileSync(path.join(exportDir, 'summary.json'), 'utf8')) as Summary;
      return { id, out, summary, stage: (name) => out.funnel.find((s) => s.stage === name) };
    },
  };
}

export const sum = (m: Record<string, number> | undefined) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);

export interface BuildSuite {
  readonly h: Harness;
  readonly client: Client;
  readonly bundle: { code: string };
  readonly home: string;
  /** Throws when the suite was declared without `simulator`. */
  readonly sim: RunningSimulator;
  /** Throws when the suite was declared without `fixture`. */
  readonly fixture: FixtureSet;
}

export interface BuildSuiteOptions extends HarnessOptions {
  /** Start a model simulator with these options for the whole file. */
  simulator?: SimulatorOptions;
  /** Make the SiW-Mv2 fixture set (with these options) for the whole file. */
  fixture?: true | { corrupt?: boolean };
}

/**
 * Declares the file's `beforeAll`/`afterAll` for whole-build tests: a harness (client, bundle,
 * home) and, when asked for, a simulator and a fixture set, all closed after the last test.
 */
export function useBuildSuite(options: BuildSuiteOptions = {}): BuildSuite {
  let h: Harness | undefined;
  let sim: RunningSimulator | undefined;
  let fixture: FixtureSet | undefined;
  beforeAll(async () => {
    h = await startHarness(options);
    if (options.simulator) sim = await startSimulator(options.simulator);
    if (options.fixture) fixture = await makeFixtureSet(options.fixture === true ? {} : options.fixture);
  });
  afterAll(async () => {
    await sim?.close();
    fixture?.cleanup();
    await h?.close();
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the build suite has no ${what} (not asked for, or not started yet)`);
    return value;
  };
  return {
    get h() {
      return need(h, 'harness');
    },
    get client() {
      return need(h, 'harness').client;
    },
    get bundle() {
      return need(h, 'harness').bundle;
    },
    get home() {
      return need(h, 'harness').home;
    },
    get sim() {
      return need(sim, 'simulator');
    },
    get fixture() {
      return need(fixture, 'fixture set');
    },
  };
}
