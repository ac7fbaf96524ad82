/**
 * `npm run bench:pipeline -- --images 1000`: one build over N images (the bundled samples
 * repeated, each copy re-encoded so its bytes differ) with the simulator at zero latency, run
 * twice side by side: as a Temporal build, and as the same activity code called directly in one
 * process. Each mode gets its own fresh database, so neither profits from the other's cache.
 * Prints records per second for both and their ratio; the last line is one JSON object.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { createClipActivities, createLlmActivities, createPipelineActivities } from '../activities';
import { createModelGateway } from '../activities/model-api/gateway';
import { ensureTemporal } from '../cli/temporal-dev';
import { loadAssets } from '../config/assets';
import { parseEnv } from '../config/env';
import { queryRows, type OpenDatabase } from '../db/client';
import { startSimulator } from '../simulator';
import { freshDatabase } from './database';
import { copySamples } from './samples';
import { createWorkers, installRuntime, lazyClip, QUEUES } from '../workers/bootstrap';

const { values } = parseArgs({
  options: { images: { type: 'string', default: '1000' }, port: { type: 'string', default: '7833' } },
});
const imageCount = Number(values.images);
if (!Number.isInteger(imageCount) || imageCount < 1) throw new Error('--images must be a positive integer');

async function countRecords(database: OpenDatabase, buildId: string): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    database.db,
    sql`select count(*) as n from records where build_id = ${buildId}`,
  );
  return Number(row?.n ?? 0);
}

async function main(): Promise<void> {
  installRuntime('ERROR');
  const root = await copySamples(imageCount, 'fasforge-bench');
  const sim = await startSimulator({ seed: 'bench' });
  let env = parseEnv();
  env = { ...env, vision: { ...env.vision, baseUrl: sim.url }, text: { ...env.text, baseUrl: sim.url } };
  const input = {
    name: `bench ${imageCount} images`,
    // The copies differ in bytes, not pixels: near-duplicate detection would keep one of each.
    sources: [{ name: 'bench', adapter: 'siw-mv2', root, nearDuplicateDistance: -1 }],
    review: { required: false },
    export: { dir: path.join(root, 'export') },
  };

  // Temporal build.
  const dbA = await freshDatabase('fasforge_bench_temporal', env.databaseUrl);
  const server = await ensureTemporal(env, { port: Number(values.port) });
  const connection = await NativeConnection.connect({ address: server.address });
  const workers = await createWorkers({ env, database: dbA, connection, queues: QUEUES });
  const running = workers.map((w) => w.run());
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const idA = `bench-${Date.now()}`;
  const t0 = performance.now();
  await client.workflow.execute('buildDatasetWorkflow', {
    taskQueue: 'pipeline',
    workflowId: idA,
    args: [{ ...input, export: { dir: path.join(root, 'export-a') } }],
  });
  const temporalSeconds = (performance.now() - t0) / 1000;
  const recordsA = await countRecords(dbA, idA);
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  await client.connection.close();
  if (server.startedHere) server.stop();
  await dbA.close();

  // The same activities called directly, with the workflow's batch sizes and parallelism.
  const dbB = await freshDatabase('fasforge_bench_direct', env.databaseUrl);
  const assets = loadAssets();
  const endpoint = {
    client: new OpenAI({ baseURL: sim.url, apiKey: 'none', maxRetries: 0 }),
    envPrefix: 'FASFORGE_VISION',
  };
  const pipe = createPipelineActivities(dbB.db, env, assets);
  const llm = createLlmActivities(dbB.db, createModelGateway(dbB.db, { vision: endpoint, text: endpoint }), assets);
  const clip = createClipActivities(dbB.db, lazyClip(env));
  const idB = `bench-direct-${Date.now()}`;
  const t1 = performance.now();
  const prepared = await pipe.prepareBuild({
    buildId: idB,
    raw: { ...input, export: { dir: path.join(root, 'export-b') } },
  });
  const { input: resolved } = prepared;
  await pipe.ingestSources({ buildId: idB, input: resolved });
  const inParallel = async <T>(ranges: T[], n: number, fn: (r: T) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (next < ranges.length) await fn(ranges[next++]!);
      }),
    );
  };
  const genRanges = await pipe.planBatches({ buildId: idB, kind: 'images', batchSize: resolved.generation.batchSize });
  await inParallel(genRanges, resolved.generation.parallelBatches, (range) =>
    llm.generateRecords({
      buildId: idB,
      range,
      tasks: resolved.tasks,
      generation: resolved.generation,
      model: prepared.models.vision,
    }),
  );
  const sftArgs = { buildId: idB, sft: resolved.sft, model: prepared.models.text };
  await Promise.all([
    (async () => {
      const ranges = await pipe.planBatches({
        buildId: idB,
        kind: 'records',
        set: 'pretrain',
        batchSize: resolved.clip.recordsPerActivity,
      });
      await inParallel(ranges, 2, (range) => clip.scoreRecords({ buildId: idB, range, clip: resolved.clip }));
    })(),
    (async () => {
      const aug = await pipe.planBatches({
        buildId: idB,
        kind: 'records',
        set: 'sft',
        origin: 'generated',
        batchSize: resolved.sft.batchSize,
      });
      await inParallel(aug, resolved.sft.parallelBatches, (range) => llm.augmentRecords({ ...sftArgs, range }));
      const fil = await pipe.planBatches({
        buildId: idB,
        kind: 'records',
        set: 'sft',
        batchSize: resolved.sft.batchSize,
      });
      await inParallel(fil, resolved.sft.parallelBatches, (range) => llm.filterRecords({ ...sftArgs, range }));
    })(),
  ]);
  await pipe.exportBuild({ buildId: idB, prepared, review: { skipped: true } });
  const directSeconds = (performance.now() - t1) / 1000;
  const recordsB = await countRecords(dbB, idB);
  await dbB.close();
  await sim.close();
  fs.rmSync(root, { recursive: true, force: true });

  const result = {
    images: imageCount,
    records: { temporal: recordsA, direct: recordsB },
    seconds: { temporal: round(temporalSeconds), direct: round(directSeconds) },
    recordsPerSecond: { temporal: round(recordsA / temporalSeconds), direct: round(recordsB / directSeconds) },
    ratioTemporalToDirect: round(recordsA / temporalSeconds / (recordsB / directSeconds)),
  };
  console.log(
    `temporal build: ${recordsA} records in ${result.seconds.temporal}s (${result.recordsPerSecond.temporal}/s)`,
  );
  console.log(`direct calls:   ${recordsB} records in ${result.seconds.direct}s (${result.recordsPerSecond.direct}/s)`);
  console.log(`ratio temporal/direct: ${result.ratioTemporalToDirect}`);
  console.log(JSON.stringify(result));
}

const round = (x: number) => Math.round(x * 100) / 100;

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
