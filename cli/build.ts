/**
 * `fasforge build start|status|list|cancel`: start a build from a JSON file and follow, list or
 * cancel builds by workflow id. Only the Temporal client is used: no database is opened here, so
 * these commands run beside workers that hold the embedded database.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { FasforgeEnv } from '../config/env';
import { activeTracing } from '../workers/tracing';
import { TASK_QUEUES } from '../workflows/constants';
import { readBuildFile } from './build-file';
import {
  BUILD_WORKFLOW,
  formatRetrying,
  formatSnapshot,
  formatStageLine,
  readSnapshot,
  StageBars,
  type BuildSnapshot,
} from './progress';
import { debug } from './verbose';

export { BUILD_WORKFLOW };
export const DEFAULT_ADDRESS = '127.0.0.1:7233';

/** Where the CLI talks to Temporal: flags first, then TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, then the dev server's defaults. */
export interface Target {
  address: string;
  namespace: string;
  /** The web UI's base URL, for links. */
  uiUrl: string;
}

export function resolveTarget(env: FasforgeEnv, flags: { address?: string; namespace?: string } = {}): Target {
  const address = flags.address ?? env.temporalAddress ?? DEFAULT_ADDRESS;
  return { address, namespace: flags.namespace ?? env.namespace, uiUrl: env.temporalUiUrl ?? devUiUrl(address) };
}

/** A dev server's web UI listens on its frontend port + 1000 (7233 → 8233). */
export function devUiUrl(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return `http://${address}`;
  const host = m[1] === '0.0.0.0' || m[1] === '' ? '127.0.0.1' : m[1];
  return `http://${host}:${Number(m[2]) + 1000}`;
}

export function workflowUrl(target: Target, workflowId: string): string {
  return `${target.uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** `--address` / `--namespace` flags for a `temporal` command, present only when not the defaults. */
export function temporalFlags(target: Pick<Target, 'address' | 'namespace'>): string {
  const localDefault = ['127.0.0.1:7233', 'localhost:7233'].includes(target.address);
  return `${localDefault ? '' : ` --address ${target.address}`}${target.namespace === 'default' ? '' : ` --namespace ${target.namespace}`}`;
}

/** The command a reviewer runs to approve a build waiting at its review gate. */
export function approveCommand(target: Pick<Target, 'address' | 'namespace'>, workflowId: string): string {
  return `temporal workflow signal${temporalFlags(target)} --workflow-id ${workflowId} --name approveReview --input '{"reviewer":"<name>","note":"<what you checked>"}'`;
}

/** The command that follows a build until it settles, with the id quoted for a shell. */
export function followCommand(workflowId: string): string {
  return `npx fasforge build status ${shellQuote(workflowId)} --watch`;
}

/** A word for a POSIX shell: left as it is when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-.,:/@%+=]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Whether an error is a failure to reach the Temporal server (raw gRPC or Rust transport errors). */
export function isConnectionError(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /tonic::transport|TransportError|ConnectionRefused|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|14 UNAVAILABLE|No connection established|Failed to connect|connect(ion)? timed? ?out|dns error/i.test(
    msg,
  );
}

/** Why a server could not be reached, in a few words instead of the transport's own dump. */
export function connectionReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/ConnectionRefused|ECONNREFUSED|Connection refused/i.test(msg)) return 'connection refused';
  if (/ENOTFOUND|dns error|failed to lookup|Name or service not known/i.test(msg)) return 'host name not found';
  if (/EHOSTUNREACH|HostUnreachable|No route to host/i.test(msg)) return 'host unreachable';
  if (/timed? ?out|deadline/i.test(msg)) return 'timed out';
  return 'no answer';
}

/** The one message every command prints when Temporal cannot be reached. */
export function cannotReachMessage(address: string, err: unknown): string {
  return `cannot reach Temporal at ${address}: ${connectionReason(err)}; start it with npx fasforge dev, or set TEMPORAL_ADDRESS`;
}

export async function connectClient(env: FasforgeEnv, address?: string, namespace?: string): Promise<Client> {
  const target = resolveTarget(env, { address, namespace });
  debug(`connecting to Temporal at ${target.address}, namespace ${target.namespace}`);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: 5000 });
  } catch (err) {
    debug(`connection error: ${(err as Error).message}`);
    throw new Error(cannotReachMessage(target.address, err));
  }
  return new Client({ connection, namespace: target.namespace, interceptors: activeTracing()?.clientInterceptors() });
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
  try {
    await client.workflow.start(BUILD_WORKFLOW, {
      taskQueue: TASK_QUEUES.pipeline,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `fasforge build: ${input.name ?? 'unnamed'}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new Error(
        `a build with id ${workflowId} already exists; choose another --id (see npx fasforge build list)`,
      );
    throw err;
  }
  debug(`started ${BUILD_WORKFLOW} ${workflowId} on task queue ${TASK_QUEUES.pipeline}`);
  return workflowId;
}

export interface StatusOptions {
  json: boolean;
  watch: boolean;
  /** Seconds between polls with --watch. */
  interval: number;
  /** Draw live bars; defaults to whether stdout is a terminal. */
  tty?: boolean;
  out?: (line: string) => void;
}

/** Execution statuses of a build that ended without its export: `build status` exits 1 for them. */
export const UNSUCCESSFUL_STATUSES = ['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export function statusExitCode(snap: Pick<BuildSnapshot, 'status'>): number {
  return UNSUCCESSFUL_STATUSES.includes(snap.status) ? 1 : 0;
}

/** A build has settled for a watcher once it has closed or waits for a reviewer. */
export function settled(snap: BuildSnapshot): boolean {
  return snap.status !== 'RUNNING' || snap.review?.waiting === true;
}

/** Prints a build's status (once, or until it settles with `watch`) and returns the last snapshot. */
export async function printStatus(
  client: Client,
  target: Target,
  workflowId: string,
  opts: StatusOptions,
): Promise<BuildSnapshot> {
  const out = opts.out ?? ((line: string) => console.log(line));
  const tty = opts.tty ?? (process.stdout.isTTY === true && !opts.json);
  let snap = await readSnapshot(client, workflowId);
  if (!opts.watch) {
    if (opts.json) out(JSON.stringify(snap, null, 2));
    else
      formatSnapshot(snap)
        .concat(hints(snap, target))
        .forEach((l) => out(l));
    return snap;
  }

  const bars = tty ? new StageBars() : undefined;
  const printed = new Map<string, string>();
  let header = '';
  try {
    for (;;) {
      if (opts.json) {
        out(JSON.stringify(snap));
      } else {
        const head = formatSnapshot({
          ...snap,
          stages: [],
          failure: undefined,
          result: undefined,
          review: undefined,
        })[0]!;
        if (head !== header) {
          if (bars) bars.log(head);
          else out(head);
          header = head;
        }
        if (bars) bars.update(snap.stages);
        else {
          snap.stages.forEach((s, i) => {
            const line = formatStageLine(s);
            if (printed.get(`${i}:${s.stage}`) !== line) out(`  ${line}`);
            printed.set(`${i}:${s.stage}`, line);
          });
        }
        // A retry is news each time its attempt or failure changes.
        for (const r of snap.retrying ?? []) {
          const key = `retry:${r.workflowId}:${r.activity}`;
          const line = `${r.stage ? `${r.stage}: ` : ''}${formatRetrying(r)}`;
          if (printed.get(key) !== line) {
            if (bars) bars.log(`  ${line}`);
            else out(`    ${line}`);
          }
          printed.set(key, line);
        }
      }
      if (settled(snap)) break;
      await new Promise((r) => setTimeout(r, opts.interval * 1000));
      snap = await readSnapshot(client, workflowId);
    }
  } finally {
    bars?.stop();
  }
  if (!opts.json)
    formatSnapshot({ ...snap, stages: [] })
      .slice(1)
      .concat(hints(snap, target))
      .forEach((l) => out(l));
  return snap;
}

function hints(snap: BuildSnapshot, target: Target): string[] {
  const lines: string[] = [];
  if (snap.review?.waiting) lines.push('  approve with:', `    ${approveCommand(target, snap.workflowId)}`);
  if (snap.status === 'RUNNING' || snap.failure) lines.push(`  web UI: ${workflowUrl(target, snap.workflowId)}`);
  return lines;
}

export interface BuildListing {
  workflowId: string;
  status: string;
  stage?: string;
  datasetVersion?: string;
  startTime: string;
  closeTime?: string;
}

/** Recent builds, newest first, with their stage from the FasforgeStage search attribute. */
export async function listBuilds(client: Client, opts: { limit: number; query?: string }): Promise<BuildListing[]> {
  const query = [`WorkflowType = '${BUILD_WORKFLOW}'`, ...(opts.query ? [`(${opts.query})`] : [])].join(' AND ');
  debug(`listing workflows: ${query}`);
  const rows: BuildListing[] = [];
  const listed = client.workflow.list({ query, pageSize: Math.min(opts.limit, 100) });
  try {
    for await (const w of listed) {
      rows.push(listingOf(w));
      if (rows.length >= opts.limit) break;
    }
  } catch (err) {
    if (isConnectionError(err)) throw err;
    throw new Error(`cannot list builds: ${serverReason(err)}${opts.query ? ` (query: ${opts.query})` : ''}`);
  }
  return rows;
}

/** The server's own reason for refusing a call: the gRPC error's details under the SDK's summary. */
export function serverReason(err: unknown): string {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const details = (e as { details?: unknown }).details;
    if (typeof details === 'string' && details.trim()) return details.trim();
    if (e !== err && e instanceof Error && e.message) return e.message.replace(/^\d+ [A-Z_]+: /, '');
  }
  return err instanceof Error ? err.message : String(err);
}

function listingOf(w: WorkflowExecutionInfo): BuildListing {
  const first = (k: string) => {
    const v = w.searchAttributes?.[k];
    return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  };
  return {
    workflowId: w.workflowId,
    status: w.status.name,
    stage: first('FasforgeStage'),
    datasetVersion: first('FasforgeDatasetVersion'),
    startTime: w.startTime.toISOString(),
    closeTime: w.closeTime?.toISOString(),
  };
}

export function formatListing(rows: BuildListing[]): string[] {
  if (!rows.length) return ['no builds found'];
  const idWidth = Math.max(8, ...rows.map((r) => r.workflowId.length));
  return [
    `${'BUILD ID'.padEnd(idWidth)}  ${'STATUS'.padEnd(10)}  ${'STAGE'.padEnd(8)}  STARTED`,
    ...rows.map(
      (r) =>
        `${r.workflowId.padEnd(idWidth)}  ${r.status.padEnd(10)}  ${(r.stage ?? '-').padEnd(8)}  ${r.startTime.replace('T', ' ').slice(0, 19)}` +
        (r.datasetVersion ? `  version ${r.datasetVersion}` : ''),
    ),
  ];
}

/** Asks a build to stop; its workflow cancels its child workflows and running activities. */
export async function cancelBuild(client: Client, workflowId: string): Promise<void> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  if (desc.status.name !== 'RUNNING') throw new Error(`build ${workflowId} is not running (it is ${desc.status.name})`);
  await client.workflow.getHandle(workflowId).cancel();
}
