/**
 * OpenTelemetry tracing through Temporal's interceptors: with tracing on (here with an in-memory
 * exporter), one build yields a client span for its start, a workflow span from inside the
 * sandbox, and activity spans, all in one trace.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { parseEnv } from '../../config/env';
import { QUEUES } from '../../workers/bootstrap';
import { setupTracing } from '../../workers/tracing';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../support/env';
import { envFor, useBuildSuite } from '../support/model-build';
import { runWorkers } from '../support/workers';

jest.setTimeout(300_000);

// No prebuilt bundle: the worker bundles the workflows with the tracing interceptors module.
const suite = useBuildSuite({
  simulator: { seed: 'tracing-test' },
  fixture: true,
  bundle: false,
  homePrefix: 'fasforge-trace-',
});

test('is off unless FASFORGE_TRACING asks for it', () => {
  expect(parseEnv({}).tracing.mode).toBe('off');
  expect(parseEnv({ FASFORGE_TRACING: 'console' }).tracing.mode).toBe('console');
  expect(() => parseEnv({ FASFORGE_TRACING: 'jaeger' })).toThrow(/FASFORGE_TRACING/);
});

test('a traced build has client, workflow and activity spans in one trace', async () => {
  const { sim, fixture, home } = suite;
  const db = await createTestDatabase();
  const env = envFor(suite.h, db.url, sim);
  const exporter = new InMemorySpanExporter();
  const tracing = setupTracing(env, { exporter, service: 'fasforge-test' })!;
  expect(tracing).toBeDefined();
  const workers = await runWorkers({ env, database: db.database, queues: QUEUES });
  const client = new Client({
    connection: await Connection.connect({ address: TEMPORAL_ADDRESS }),
    interceptors: tracing.clientInterceptors(),
  });
  try {
    const id = `test-trace-${Date.now()}`;
    const input = {
      name: 'tracing test',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
      tasks: ['coarse'],
      sft: { augment: false },
      review: { required: false },
      export: { dir: path.join(home, 'export') },
    };
    await client.workflow.execute('buildDatasetWorkflow', { taskQueue: 'pipeline', workflowId: id, args: [input] });
    await tracing.processor.forceFlush();

    const spans = exporter.getFinishedSpans();
    const names = new Set(spans.map((s) => s.name));
    expect(names).toContain('StartWorkflow:buildDatasetWorkflow');
    expect(names).toContain('RunWorkflow:buildDatasetWorkflow');
    expect(names).toContain('RunActivity:prepareBuild');
    expect(names).toContain('RunActivity:generateRecords');
    const start = spans.find((s) => s.name === 'StartWorkflow:buildDatasetWorkflow')!;
    const run = spans.find((s) => s.name === 'RunWorkflow:buildDatasetWorkflow')!;
    const activity = spans.find((s) => s.name === 'RunActivity:prepareBuild')!;
    expect(run.spanContext().traceId).toBe(start.spanContext().traceId);
    expect(activity.spanContext().traceId).toBe(start.spanContext().traceId);
  } finally {
    await workers.stop();
    await client.connection.close();
    await tracing.shutdown();
    await db.drop();
  }
});
