/**
 * Reading a build's progress: the build workflow's `progress` query, merged with the `progress`
 * queries of the child workflows running its current stage.
 */
import type { Client } from '@temporalio/client';
import type { BuildProgress, ReviewProgress, StageProgress } from '../workflows/messages';

export async function readProgress(client: Client, workflowId: string): Promise<BuildProgress> {
  const handle = client.workflow.getHandle(workflowId);
  const p = await handle.query<BuildProgress>('progress');
  const live: StageProgress[] = [];
  for (const child of p.children) {
    try {
      live.push(...(await client.workflow.getHandle(child).query<StageProgress[]>('progress')));
    } catch {
      // The child has not started yet, or has just finished.
    }
  }
  const done = new Set(p.stages.map((s) => s.stage));
  return { ...p, stages: [...p.stages, ...live.filter((s) => !done.has(s.stage) || s.state !== 'done')] };
}

export async function readReview(client: Client, workflowId: string): Promise<ReviewProgress> {
  return client.workflow.getHandle(workflowId).query<ReviewProgress>('reviewProgress');
}

export function formatStage(s: StageProgress): string {
  const c = s.counts;
  const extra = [
    ...Object.entries(c.dropped).map(([k, v]) => `dropped ${k} ${v}`),
    ...Object.entries(c.failed).map(([k, v]) => `failed ${k} ${v}`),
    ...(c.created ? [`created ${c.created}`] : []),
  ];
  const batches = s.batchesTotal > 1 || s.state !== 'done' ? ` ${s.batchesDone}/${s.batchesTotal} batches` : '';
  return `${s.stage.padEnd(12)} ${s.state.padEnd(7)}${batches}  in ${c.in}  kept ${c.kept}${extra.length ? `  (${extra.join(', ')})` : ''}`;
}
