/**
 * The CLIP filter on the real Temporal test server and PostgreSQL: the top-fraction mode judges
 * once everything is scored and the result carries the threshold and the per-class score
 * distribution; a build whose CLIP model files are missing fails before any work, with the
 * download command in the message.
 */
import fs from 'node:fs';
import path from 'node:path';

import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';

import { createClipActivities, createPipelineActivities } from '../../activities';
import { loadClipModel, type ClipScorer } from '../../activities/clip';
import { loadAssets } from '../../config/assets';
import { parseBuildInput } from '../../config/build-input';
import { parseEnv } from '../../config/env';
import { queryRows } from '../../db/client';
import { QUEUES } from '../../workers/bootstrap';
import type { ClipFilterOutput } from '../../workflows/clip-filter';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../support/env';
import { useBuildSuite } from '../support/model-build';
import { seedPretrainRecords } from '../support/rows';
import { runWorkers } from '../support/workers';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');
const SAMPLES = path.join(ROOT, 'samples/siw-mv2');
const suite = useBuildSuite({ homePrefix: 'fasforge-clip-wf-' });

test('top-fraction keeps the best share of each class and reports thresholds and score distributions', async () => {
  const testDb = await createTestDatabase();
  const db = testDb.database.db;
  const env = parseEnv({ FASFORGE_HOME: suite.home, DATABASE_URL: testDb.url });
  const buildId = `clip-wf-${Date.now()}`;
  const live = fs.readdirSync(path.join(SAMPLES, 'Live')).sort().slice(0, 5);
  const print = fs.readdirSync(path.join(SAMPLES, 'Spoof/Print')).sort().slice(0, 5);
  const files = [
    ...live.map((f) => ['Bonafide', path.join(SAMPLES, 'Live', f)] as const),
    ...print.map((f) => ['Print', path.join(SAMPLES, 'Spoof/Print', f)] as const),
  ];
  await seedPretrainRecords(
    db,
    buildId,
    files,
    ['A real face in front of the camera.', 'A printed photo held up to the camera.'],
    { source: 's', relPath: (i) => `${i}.jpg` },
  );

  let scorer: ClipScorer | undefined;
  const load = async () =>
    (scorer ??= await loadClipModel(env.clipModelDir, { logger: { info: () => undefined, warn: () => undefined } }));
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const base = { connection, namespace: env.namespace };
  const workers = [
    await Worker.create({
      ...base,
      taskQueue: 'pipeline',
      workflowBundle: suite.bundle,
      activities: createPipelineActivities(db, env, loadAssets()),
    }),
    await Worker.create({ ...base, taskQueue: 'clip', activities: createClipActivities(db, load) }),
  ];
  const running = workers.map((w) => w.run());
  try {
    const input = parseBuildInput({
      sources: [{ name: 's', adapter: 'siw-mv2', root: SAMPLES }],
      clip: { mode: 'top-fraction', keepFraction: 0.5, perClass: true, batchSize: 3, recordsPerActivity: 7 },
    });
    const out: ClipFilterOutput = await suite.client.workflow.execute('clipFilterWorkflow', {
      taskQueue: 'pipeline',
      workflowId: `${buildId}:clip-filter`,
      args: [{ buildId, input }],
    });
    expect(out.state).toBe('done');
    expect(out.batchesTotal).toBe(3);
    expect(out.counts).toMatchObject({ in: 20, kept: 10, dropped: { clip_below_threshold: 10 } });
    expect(out.model).toMatchObject({ modelId: 'fasforge-tiny-clip-standin', standIn: true, provider: 'cpu' });
    expect(out.threshold).toMatchObject({ mode: 'top-fraction', keepFraction: 0.5, perClass: true });
    expect(Object.keys(out.threshold?.byClass ?? {}).sort()).toEqual(['Bonafide', 'Print']);
    for (const cls of ['Bonafide', 'Print']) {
      const s = out.scores?.byClass[cls];
      expect(s).toMatchObject({ kept: 5, dropped: 5, failed: 0 });
      expect(s?.scores?.count).toBe(10);
      expect(s?.scores?.min).toBeLessThanOrEqual(out.threshold!.byClass[cls]!);
      expect(s?.scores?.histogram.counts.reduce((a, b) => a + b, 0)).toBe(10);
    }
    const rows = await queryRows<{ n: string }>(
      db,
      sql`select count(*) as n from records where build_id = ${buildId} and clip_score is not null`,
    );
    expect(Number(rows[0]?.n)).toBe(20);
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.all(running);
    await connection.close();
    await scorer?.close();
    await testDb.drop();
  }
});

test('a build whose CLIP model files are missing fails right after prepare, naming the download command', async () => {
  const testDb = await createTestDatabase();
  const env = parseEnv({
    FASFORGE_HOME: suite.home,
    DATABASE_URL: testDb.url,
    FASFORGE_CLIP_MODEL_DIR: path.join(suite.home, 'no-model-here'),
    // Never called: the build fails before generation.
    FASFORGE_VISION_BASE_URL: 'http://127.0.0.1:9/v1',
    FASFORGE_TEXT_BASE_URL: 'http://127.0.0.1:9/v1',
  });
  const workers = await runWorkers({ env, database: testDb.database, queues: QUEUES, workflowBundle: suite.bundle });
  try {
    const buildId = `clip-missing-${Date.now()}`;
    const err = await suite.client.workflow
      .execute('buildDatasetWorkflow', {
        taskQueue: 'pipeline',
        workflowId: buildId,
        args: [{ sources: [{ name: 's', adapter: 'siw-mv2', root: SAMPLES }] }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = (err as WorkflowFailedError).cause;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('ClipModelMissing');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).message).toContain('npx fasforge models download clip');
    expect((cause as ApplicationFailure).message).toContain(path.join(suite.home, 'no-model-here'));
    const ingested = await queryRows<{ n: string }>(
      testDb.database.db,
      sql`select count(*) as n from images where build_id = ${buildId}`,
    );
    expect(Number(ingested[0]?.n)).toBe(0);
  } finally {
    await workers.stop();
    await testDb.drop();
  }
});
