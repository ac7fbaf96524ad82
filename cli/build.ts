/**
 * `fasforge build start|status`: start a build from a JSON file, and follow it by workflow id.
 */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FasforgeEnv } from '../config/env';
import { TASK_QUEUES } from '../workflows/constants';
import { readBuildFile } from './build-file';
import { formatStage, readProgress, readReview } from './progress';

export const BUILD_WORKFLOW = 'buildDatasetWorkflow';

export async function connectClient(env: FasforgeEnv, address?: string): Promise<Client> {
  const connection = await Connection.connect({ address: address ?? env.temporalAddress ?? '127.0.0.1:7233' });
  return new Client({ connection, namespace: env.namespace });
}

export async function startBuild(client: Client, file: string, id?: string): Promise<string> {
  const input = readBuildFile(file);
  const workflowId =
    id ??
    `build-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}`;
  // A build id names one build: starting it again, even after it finished, is refused.
  await client.workflow.start(BUILD_WORKFLOW, {
    taskQueue: TASK_QUEUES.pipeline,
    workflowId,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  return workflowId;
}

export async function printStatus(client: Client, workflowId: string, json: boolean): Promise<string> {
  let progress;
  try {
    progress = await readProgress(client, workflowId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`no build with workflow id ${workflowId} in this namespace`);
    throw err;
  }
  const desc = await client.workflow.getHandle(workflowId).describe();
  const review = await readReview(client, workflowId).catch(() => undefined);
  if (json) {
    console.log(JSON.stringify({ workflowId, status: desc.status.name, ...progress, review }, null, 2));
  } else {
    console.log(`build ${workflowId}: ${desc.status.name}, stage ${progress.stage}`);
    for (const s of progress.stages) console.log(`  ${formatStage(s)}`);
    if (review?.waiting) {
      console.log(`  review: ${review.pending} records await review; approve with`);
      console.log(
        `    temporal workflow signal --workflow-id ${workflowId} --name approveReview --input '{"reviewer":"<name>"}'`,
      );
    }
  }
  return desc.status.name;
}
