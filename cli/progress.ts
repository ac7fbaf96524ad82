/**
 * Reading and drawing a build's progress. A snapshot combines the workflow's description, the
 * build workflow's `progress` query (merged with the `progress` queries of the child workflows
 * running its current stage), the review state, and the result or failure once it has closed.
 * A child workflow id (`<build>:generate`) works too: its own `progress` query lists its stages.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ExportOutput } from '../activities/contracts';
import type { BuildProgress, ReviewProgress, StageProgress } from '../workflows/messages';
import { isVerbose } from './verbose';

export const BUILD_WORKFLOW = 'buildDatasetWorkflow';

export interface BuildSnapshot {
  workflowId: string;
  /** `build` for a build workflow, `stage` for one of its child workflows. */
  kind: 'build' | 'stage';
  workflowType: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  status: string;
  stage?: string;
  stages: StageProgress[];
  review?: ReviewProgress;
  /** The export, once a build has completed. */
  result?: ExportOutput;
  /** Why the build failed, with the failure's type when it has one. */
  failure?: string;
  /** Set when the live progress could not be read (e.g. no worker is running to answer queries). */
  progressUnavailable?: string;
  /** Activities of the build and its running child workflows that failed and wait for their next attempt. */
  retrying?: RetryingActivity[];
}

export interface RetryingActivity {
  /** The workflow running the activity: the build or one of its child workflows. */
  workflowId: string;
  /** The stage the activity belongs to, when known. */
  stage?: string;
  activity: string;
  attempt: number;
  /** The last attempt's failure message. */
  lastFailure?: string;
}

interface PendingActivityLike {
  activityType?: { name?: string | null } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null } | null;
}

/** The pending activities that have failed at least once, from a workflow's description. */
export function retryingActivities(
  workflowId: string,
  stage: string | undefined,
  pending: readonly PendingActivityLike[] | null | undefined,
): RetryingActivity[] {
  return (pending ?? [])
    .filter((a) => (a.attempt ?? 1) > 1 || a.lastFailure?.message)
    .map((a) => ({
      workflowId,
      ...(stage ? { stage } : {}),
      activity: a.activityType?.name ?? 'activity',
      attempt: a.attempt ?? 1,
      ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
    }));
}

export function formatRetrying(r: RetryingActivity): string {
  return `retrying: ${r.activity} attempt ${r.attempt}${r.lastFailure ? `: ${shortFailure(r.lastFailure, 200)}` : ''}`;
}

/** A child workflow `<build>:<stage>` belongs to that stage. */
function childStage(workflowId: string): string | undefined {
  const i = workflowId.lastIndexOf(':');
  // Child ids use dashes (`:clip-filter`) where stage names use underscores (`clip_filter`).
  return i > 0 ? workflowId.slice(i + 1).replace(/-/g, '_') : undefined;
}

/** How long a query may wait for a worker before the status falls back to what the server knows. */
const QUERY_DEADLINE_MS = 5000;

export async function readSnapshot(client: Client, workflowId: string): Promise<BuildSnapshot> {
  const handle = client.workflow.getHandle(workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`no workflow with id ${workflowId} in namespace ${client.options.namespace}`);
    throw err;
  }
  const kind = desc.type === BUILD_WORKFLOW ? 'build' : 'stage';
  const attr = desc.searchAttributes?.FasforgeStage;
  const snap: BuildSnapshot = {
    workflowId,
    kind,
    workflowType: desc.type,
    status: desc.status.name,
    stage: Array.isArray(attr) && typeof attr[0] === 'string' ? attr[0] : undefined,
    stages: [],
  };
  let children: string[] = [];
  try {
    await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, async () => {
      if (kind === 'build') {
        const p = await readProgress(client, workflowId);
        snap.stage = p.stage;
        snap.stages = p.stages;
        children = p.children ?? [];
        snap.review = await readReview(client, workflowId).catch(() => undefined);
      } else {
        snap.stages = await handle.query<StageProgress[]>('progress');
        snap.stage = snap.stages.find((s) => s.state !== 'done')?.stage ?? snap.stages.at(-1)?.stage;
      }
    });
  } catch (err) {
    snap.progressUnavailable = `progress query not answered (${(err as Error).message}); is a pipeline worker running?`;
  }
  if (desc.status.name === 'RUNNING') {
    const retrying = retryingActivities(
      workflowId,
      kind === 'stage' ? (childStage(workflowId) ?? snap.stage) : snap.stage,
      desc.raw.pendingActivities,
    );
    for (const child of children) {
      try {
        const d = await client.workflow.getHandle(child).describe();
        if (d.status.name === 'RUNNING')
          retrying.push(...retryingActivities(child, childStage(child), d.raw.pendingActivities));
      } catch {
        // The child has just finished or not started yet.
      }
    }
    if (retrying.length) snap.retrying = retrying;
  }
  if (desc.status.name === 'COMPLETED' && kind === 'build') {
    snap.result = (await handle.result()) as ExportOutput;
  } else if (desc.status.name !== 'RUNNING') {
    snap.failure = await handle.result().then(
      () => undefined,
      (err: unknown) => failureMessage(err),
    );
  }
  return snap;
}

export async function readProgress(client: Client, workflowId: string): Promise<BuildProgress> {
  const handle = client.workflow.getHandle(workflowId);
  const answer = await handle.query<BuildProgress | StageProgress[]>('progress');
  // A child workflow's `progress` answers with its stages alone.
  const p: BuildProgress = Array.isArray(answer)
    ? {
        buildId: workflowId.split(':')[0] ?? workflowId,
        stage: answer.at(-1)?.stage ?? 'unknown',
        stages: answer,
        children: [],
      }
    : answer;
  const live: StageProgress[] = [];
  for (const child of p.children ?? []) {
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

/** The innermost useful message of a workflow failure, with its type. */
export function failureMessage(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError && err.cause ? err.cause : err;
  // Activity and child-workflow failures wrap the application failure that says what happened.
  while (
    e instanceof Error &&
    e.cause instanceof Error &&
    /^(Activity|Child Workflow) (task|execution) failed$/i.test(e.message)
  )
    e = e.cause;
  if (!(e instanceof Error)) return String(e);
  const type = (e as { type?: unknown }).type;
  return typeof type === 'string' && type ? `${e.message} (${type})` : e.message;
}

export function formatCounts(s: StageProgress): string {
  const c = s.counts;
  const extra = [
    ...Object.entries(c.dropped).map(([k, v]) => `dropped ${k} ${v}`),
    ...Object.entries(c.failed).map(([k, v]) => `failed ${k} ${v}`),
    ...(c.created ? [`created ${c.created}`] : []),
  ];
  return `in ${c.in}  kept ${c.kept}${extra.length ? `  (${extra.join(', ')})` : ''}`;
}

export function formatStage(s: StageProgress): string {
  const batches = s.batchesTotal > 1 || s.state !== 'done' ? ` ${s.batchesDone}/${s.batchesTotal} batches` : '';
  return `${s.stage.padEnd(14)} ${s.state.padEnd(7)}${batches}  ${formatCounts(s)}`;
}

/** A failure's first line, capped: database errors can carry whole rows. `--verbose` and `--json` show all. */
export function shortFailure(message: string, max = 400): string {
  const first = message.split('\n')[0]!;
  const cut = first.length > max ? `${first.slice(0, max)}…` : first;
  return cut === message ? cut : `${cut} (full message with --verbose or --json)`;
}

/** A text bar for output that is not a terminal (logs, CI, pipes). */
export function staticBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function formatStageLine(s: StageProgress): string {
  const done = s.state === 'done' ? Math.max(s.batchesTotal, 1) : s.batchesDone;
  const batches = `${s.batchesDone}/${s.batchesTotal} batches`;
  return `${s.stage.padEnd(14)} ${staticBar(done, Math.max(s.batchesTotal, 1))} ${s.state.padEnd(7)} ${batches.padEnd(13)}  ${formatCounts(s)}`;
}

/** The lines of a snapshot for a terminal or a log, without the approve hint. */
export function formatSnapshot(snap: BuildSnapshot): string[] {
  const what = snap.kind === 'build' ? 'build' : `${snap.workflowType} of build ${snap.workflowId.split(':')[0]}`;
  const lines = [`${what} ${snap.workflowId}: ${snap.status}${snap.stage ? `, stage ${snap.stage}` : ''}`];
  const retrying = snap.retrying ?? [];
  const placed = new Set<RetryingActivity>();
  // Batches of one stage often fail alike: the same line is printed once, with how many it stands for.
  const grouped = (list: RetryingActivity[], indent: string) => {
    const counts = new Map<string, number>();
    for (const r of list) counts.set(formatRetrying(r), (counts.get(formatRetrying(r)) ?? 0) + 1);
    return [...counts].map(([line, n]) => `${indent}${line}${n > 1 ? ` (${n} activities)` : ''}`);
  };
  for (const s of snap.stages) {
    lines.push(`  ${formatStageLine(s)}`);
    if (s.state === 'done') continue;
    const here = retrying.filter((x) => x.stage === s.stage && !placed.has(x));
    here.forEach((r) => placed.add(r));
    lines.push(...grouped(here, '    '));
  }
  lines.push(
    ...grouped(
      retrying.filter((x) => !placed.has(x)),
      '  ',
    ),
  );
  if (snap.progressUnavailable) lines.push(`  ${snap.progressUnavailable}`);
  if (snap.review?.waiting) lines.push(`  review: ${snap.review.pending} records await review`);
  for (const s of snap.stages) if (s.blocked) lines.push(`  ${s.stage} blocked: ${s.blocked}`);
  if (snap.failure) lines.push(`  failed: ${isVerbose() ? snap.failure : shortFailure(snap.failure)}`);
  if (snap.result)
    lines.push(`  export: ${snap.result.dir} (pretrain ${snap.result.counts.pretrain}, sft ${snap.result.counts.sft})`);
  return lines;
}

/** Live progress bars on a terminal, one per stage, redrawn in place. */
export class StageBars {
  private readonly multi = new MultiBar(
    {
      format: ' {stage} {bar} {value}/{total} batches  {detail}',
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      barsize: 16,
    },
    Presets.shades_classic,
  );
  private readonly bars = new Map<string, SingleBar>();

  update(stages: StageProgress[]): void {
    stages.forEach((s, i) => {
      const key = `${i}:${s.stage}`;
      const payload = { stage: s.stage.padEnd(14), detail: `${s.state.padEnd(7)}  ${formatCounts(s)}` };
      const total = Math.max(s.batchesTotal, 1);
      const value = s.state === 'done' ? total : s.batchesDone;
      const bar = this.bars.get(key);
      if (bar) {
        bar.setTotal(total);
        bar.update(value, payload);
      } else {
        this.bars.set(key, this.multi.create(total, value, payload));
      }
    });
  }

  log(line: string): void {
    this.multi.log(`${line}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}
