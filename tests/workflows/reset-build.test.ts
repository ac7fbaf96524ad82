/**
 * Resetting a failed build, as an operator does from the web UI's Reset button: the build fails
 * at export, is reset to just after ingestion, and runs its later stages again. The rerun must
 * neither duplicate a row nor pay for a model call twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import type { ExportOutput } from '../../activities/contracts';
import { queryRows, type Db } from '../../db/client';
import { QUEUES } from '../../workers/bootstrap';
import { createTestDatabase } from '../support/env';
import { envFor, useBuildSuite } from '../support/model-build';
import { expectNoJobDoneTwice } from '../support/rows';
import { runWorkers } from '../support/workers';

jest.setTimeout(300_000);

const suite = useBuildSuite({ simulator: { seed: 'reset-test' }, fixture: true, homePrefix: 'fasforge-reset-' });

async function tableCounts(db: Db, buildId: string) {
  const [r] = await queryRows<{ records: string; verdicts: string; calls: string }>(
    db,
    sql`select (select count(*) from records where build_id = ${buildId}) as records,
               (select count(*) from verdicts where build_id = ${buildId}) as verdicts,
               (select count(*) from model_calls where build_id = ${buildId}) as calls`,
  );
  return { records: Number(r!.records), verdicts: Number(r!.verdicts), calls: Number(r!.calls) };
}

test('a build failed at export and reset to after ingestion finishes without duplicate rows or repeated model calls', async () => {
  const db = await createTestDatabase();
  const { sim, fixture, client, home } = suite;
  const env = envFor(suite.h, db.url, sim);
  let failExport = true;
  const workers = await runWorkers({
    env,
    database: db.database,
    queues: QUEUES,
    workflowBundle: suite.bundle,
    activityInterceptors: [
      (ctx) => ({
        inbound: {
          async execute(input, next) {
            if (failExport && ctx.info.activityType === 'exportBuild') {
              throw ApplicationFailure.nonRetryable('export folder unavailable (injected)', 'ExportError');
            }
            return next(input);
          },
        },
      }),
    ],
  });
  try {
    const id = `test-reset-${Date.now()}`;
    const input = {
      name: 'reset test',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: fixture.root, spoofRegions: fixture.coco }],
      generation: { batchSize: 2 },
      sft: { batchSize: 5 },
      review: { required: false },
      export: { dir: path.join(home, 'export-reset') },
    };
    const first = await client.workflow.start('buildDatasetWorkflow', {
      taskQueue: 'pipeline',
      workflowId: id,
      args: [input],
    });
    await expect(first.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const before = await tableCounts(db.database.db, id);
    const requestsBefore = sim.stats().requests;
    expect(before.records).toBeGreaterThan(0);
    expect(before.calls).toBeGreaterThan(0);

    // The workflow task that completed right after ingestSources: everything later runs again.
    const events = (await first.fetchHistory()).events ?? [];
    const ingestScheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestSources',
    );
    const ingestDone = events.find(
      (e) =>
        String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(ingestScheduled?.eventId),
    );
    const resetPoint = events.find(
      (e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) > Number(ingestDone?.eventId),
    );
    expect(resetPoint).toBeDefined();

    failExport = false;
    const reset = await client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: id, runId: first.firstExecutionRunId },
      reason: 'export folder fixed',
      workflowTaskFinishEventId: resetPoint!.eventId,
      requestId: randomUUID(),
    });
    const out = (await client.workflow.getHandle(id, reset.runId!).result()) as ExportOutput;
    expect(out.counts.sft).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(home, 'export-reset', 'summary.json'))).toBe(true);

    // The rerun re-executed generation, filtering and export (their events are in the new run)...
    const rerun = (await client.workflow.getHandle(id, reset.runId!).fetchHistory()).events ?? [];
    const rerunChildren = rerun.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
    expect(rerunChildren).toBe(3);
    // ...yet wrote no row twice and asked the model nothing it had already answered: every
    // simulator request since the reset is a model call the first run had not made.
    const after = await tableCounts(db.database.db, id);
    expect(after.records).toBeGreaterThanOrEqual(before.records);
    expect(sim.stats().requests - requestsBefore).toBe(after.calls - before.calls);
    await expectNoJobDoneTwice(db.database.db, id);
  } finally {
    await workers.stop();
    await db.drop();
  }
});
