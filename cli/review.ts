/**
 * `fasforge review export|import|approve`: the reviewer's side of a build's review gate.
 * `export` writes the records awaiting review to a JSONL or CSV sheet, through the gate's
 * `reviewItems` update: the workers read the texts, so the CLI opens no database. Reviewers fill in `decision`
 * (approve, reject or revise), `reason`, and for a revision `new_question` / `new_answer`.
 * `import` sends the decisions through the `submitReviewDecisions` update in chunks and reports
 * each refusal; `approve` sends `approveReview` and reports whether the gate opened.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type {
  ApproveReview,
  ReviewDecision,
  ReviewDecisionBatch,
  ReviewDecisionResult,
  ReviewItem,
  ReviewItemsPageResult,
  ReviewPageRequest,
  ReviewProgress,
  ReviewRefusal,
} from '../workflows/messages';
import { listReviewItems } from '../activities/database/review';
import { parseEnv } from '../config/env';
import { openDatabase, type Db } from '../db/client';
import { TASK_QUEUES } from '../workflows/constants';
import type { Target } from './build';

/** The sheet's columns, in order; reviewers fill in the last four. */
export const SHEET_COLUMNS = [
  'id',
  'set',
  'task',
  'label',
  'image',
  'box',
  'clip_score',
  'question',
  'answer',
  'decision',
  'reason',
  'new_question',
  'new_answer',
] as const;
export type SheetRow = Record<(typeof SHEET_COLUMNS)[number], string>;

/** Records per `reviewItems` page: with their texts, a page stays well under Temporal's payload limits. */
const ITEMS_PAGE = 200;
export const IMPORT_CHUNK = 200;
/** Workers long-poll for about a minute; one not seen for longer has stopped. */
const POLLER_FRESH_MS = 75_000;
const UPDATE_DEADLINE_MS = 90_000;
const START_WORKERS = 'start the workers (npx fasforge workers, or npx fasforge dev)';

/**
 * Refuses early when no worker serves the pipeline queue: the gate's workflow and the activity
 * that reads the sheet's texts both run there, and without them Temporal would hold the request.
 */
export async function requireWorkers(
  client: Client,
  namespace: string,
  queue: string = TASK_QUEUES.pipeline,
): Promise<void> {
  for (const [taskQueueType, what] of [
    [1, 'workflows'],
    [2, 'pipeline activities'],
  ] as const) {
    const res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: queue },
      taskQueueType,
    });
    const fresh = (res.pollers ?? []).some(
      (p) => Date.now() - Number(p.lastAccessTime?.seconds ?? 0) * 1000 < POLLER_FRESH_MS,
    );
    if (!fresh) throw new Error(`no worker is polling the ${queue} queue for ${what}: ${START_WORKERS}`);
  }
}

/**
 * Every record the gate still waits on, with its text, image, label and score, page by page
 * from the `reviewItems` update (its handler reads them from the build database on a worker).
 */
export async function pendingItems(client: Client, workflowId: string, pageSize = ITEMS_PAGE): Promise<ReviewItem[]> {
  const handle = client.workflow.getHandle(workflowId);
  const items: ReviewItem[] = [];
  for (;;) {
    let page: ReviewItemsPageResult;
    try {
      page = await client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        handle.executeUpdate<ReviewItemsPageResult, [ReviewPageRequest]>('reviewItems', {
          args: [{ offset: items.length, limit: pageSize }],
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
        throw new Error(err.cause.message);
      if (isDeadline(err))
        throw new Error(`build ${workflowId} did not answer within ${UPDATE_DEADLINE_MS / 1000} s: ${START_WORKERS}`);
      throw err;
    }
    items.push(...page.items);
    if (page.items.length < pageSize) return items;
  }
}

/**
 * The same records, paged through the `reviewProgress` query, with their texts read from the
 * shared PostgreSQL database directly: queries leave nothing in the build's history, so exporting
 * a sheet of tens of thousands of records does not grow it. Needs the database the workers use.
 */
export async function pendingItemsFromDatabase(
  client: Client,
  workflowId: string,
  db: Db,
  pageSize = ITEMS_PAGE,
): Promise<ReviewItem[]> {
  const handle = client.workflow.getHandle(workflowId);
  const items: ReviewItem[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const progress = await handle.query<ReviewProgress, [ReviewPageRequest]>('reviewProgress', {
      offset,
      limit: pageSize,
    });
    const ids = progress.page.items.map((item) => item.id);
    if (ids.length)
      items.push(...(await listReviewItems(db, { buildId: workflowId, afterSeq: 0, limit: ids.length, ids })).items);
    if (ids.length < pageSize) return items;
  }
}

const isDeadline = (err: unknown): boolean =>
  (err as { code?: unknown })?.code === 4 || /deadline/i.test(String((err as Error)?.message ?? ''));

/** Rows for the sheet from the gate's items. */
export function sheetRows(items: ReviewItem[]): SheetRow[] {
  return items.map((it) => ({
    id: it.id,
    set: it.set,
    task: it.task,
    label: it.class,
    image: it.image ?? '',
    box: it.box ? JSON.stringify(it.box) : '',
    clip_score: it.clipScore === null || it.clipScore === undefined ? '' : String(it.clipScore),
    question: it.question ?? '',
    answer: it.answer ?? '',
    decision: '',
    reason: '',
    new_question: '',
    new_answer: '',
  }));
}

/**
 * `review export`: writes the sheet of `workflowId`'s pending records to `out`; returns how many.
 * With the shared database (`db`) the texts are read from it; without it (the embedded database,
 * which only the worker process may open) they come through the `reviewItems` update.
 */
export async function exportSheet(
  client: Client,
  namespace: string,
  workflowId: string,
  out: string,
  pageSize = ITEMS_PAGE,
  db?: Db,
): Promise<number> {
  await requireWorkers(client, namespace);
  const items = db
    ? await pendingItemsFromDatabase(client, workflowId, db, pageSize)
    : await pendingItems(client, workflowId, pageSize);
  writeSheet(out, sheetRows(items));
  return items.length;
}

export function writeSheet(file: string, rows: SheetRow[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (isCsv(file)) fs.writeFileSync(file, stringifyCsv(rows, { header: true, columns: [...SHEET_COLUMNS] }));
  else fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}

const isCsv = (file: string) => path.extname(file).toLowerCase() === '.csv';

/** Decisions from a filled-in sheet; rows without a decision are left for later, bad rows refused. */
export function readSheet(file: string): { decisions: ReviewDecision[]; undecided: number; refusals: ReviewRefusal[] } {
  const text = fs.readFileSync(file, 'utf8');
  const refusals: ReviewRefusal[] = [];
  let rows: Record<string, unknown>[];
  /** A CSV sheet's header row, which names its columns even when no row follows. */
  let header_: string[] | undefined;
  if (isCsv(file)) {
    rows = parseCsv(text, {
      columns: (header: string[]) => (header_ = header),
      skip_empty_lines: true,
      bom: true,
      trim: false,
    }) as Record<string, unknown>[];
  } else {
    rows = [];
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null && !Array.isArray(value))
          rows.push(value as Record<string, unknown>);
        else refusals.push({ id: `(line ${i + 1})`, reason: 'each line must be a JSON object' });
      } catch (err) {
        refusals.push({ id: `(line ${i + 1})`, reason: `not JSON: ${(err as Error).message}` });
      }
    });
  }
  const columns = header_ ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const missing = ['id', 'decision'].filter((column) => !columns.includes(column));
  if (missing.length && (rows.length || columns.length)) {
    throw new Error(
      `the sheet ${file} has no ${missing.map((c) => `"${c}"`).join(' or ')} column (it has: ${columns.join(', ') || 'none'}); ` +
        `a sheet from \`npx fasforge review export\` has the columns ${SHEET_COLUMNS.join(', ')}`,
    );
  }
  if (rows.length === 0) {
    const why = refusals.length ? ` (${refusals[0]!.id}: ${refusals[0]!.reason})` : '';
    throw new Error(
      `the sheet ${file} holds no rows${why}; \`npx fasforge review export <build id> --out ${file}\` writes one to fill in`,
    );
  }
  const decisions: ReviewDecision[] = [];
  let undecided = 0;
  for (const row of rows) {
    const text = (k: string) =>
      typeof row[k] === 'string' ? (row[k] as string) : row[k] === null || row[k] === undefined ? '' : String(row[k]);
    const decision = text('decision').trim().toLowerCase();
    if (!decision) {
      undecided += 1;
      continue;
    }
    const id = text('id').trim();
    if (!id) {
      refusals.push({ id: '(row without id)', reason: 'a decided row needs its "id"' });
      continue;
    }
    decisions.push({
      id,
      decision: decision as ReviewDecision['decision'],
      ...(text('reason').trim() ? { reason: text('reason') } : {}),
      ...(text('new_question').trim() ? { question: text('new_question') } : {}),
      ...(text('new_answer').trim() ? { answer: text('new_answer') } : {}),
    });
  }
  return { decisions, undecided, refusals };
}

export interface ImportReport {
  accepted: number;
  unchanged: number;
  undecided: number;
  refusals: ReviewRefusal[];
}

/**
 * Sends decisions in chunks through `submitReviewDecisions`. The gate refuses an update whole,
 * naming its bad decisions; the rest of that chunk is then sent again on its own.
 */
export async function importDecisions(
  client: Client,
  workflowId: string,
  reviewer: string,
  decisions: ReviewDecision[],
  chunk = IMPORT_CHUNK,
): Promise<Omit<ImportReport, 'undecided'>> {
  const handle = client.workflow.getHandle(workflowId);
  const report = { accepted: 0, unchanged: 0, refusals: [] as ReviewRefusal[] };
  for (const chunkOf of chunks(decisions, chunk)) {
    let batch = chunkOf;
    while (batch.length) {
      try {
        const r = await handle.executeUpdate<ReviewDecisionResult, [ReviewDecisionBatch]>('submitReviewDecisions', {
          args: [{ buildId: workflowId, reviewer, decisions: batch }],
        });
        report.accepted += r.accepted;
        report.unchanged += r.unchanged;
        break;
      } catch (err) {
        const refused = refusalsOf(err);
        if (!refused) throw err;
        if (refused.refusals.length === 0) throw new Error(`the review gate refused the decisions: ${refused.message}`);
        report.refusals.push(...refused.refusals);
        const bad = new Set(refused.refusals.map((r) => r.id));
        const rest = batch.filter((d) => !bad.has(d.id));
        // A refusal that names no decision of the batch would loop; count the whole batch as refused.
        if (rest.length === batch.length) {
          report.refusals.push(...batch.map((d) => ({ id: d.id, reason: refused.message })));
          break;
        }
        batch = rest;
      }
    }
  }
  return report;
}

/** Temporal refuses payloads over 2 MB: a chunk holds at most `count` decisions and about 1 MB of JSON. */
export function chunks(decisions: ReviewDecision[], count: number, maxBytes = 1_000_000): ReviewDecision[][] {
  const out: ReviewDecision[][] = [];
  let current: ReviewDecision[] = [];
  let bytes = 0;
  for (const d of decisions) {
    const size = Buffer.byteLength(JSON.stringify(d));
    if (current.length && (current.length >= count || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

function refusalsOf(err: unknown): { message: string; refusals: ReviewRefusal[] } | undefined {
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) return undefined;
  if (err.cause.type !== 'ReviewDecisionRefused') return undefined;
  const details = err.cause.details?.[0];
  return { message: err.cause.message, refusals: Array.isArray(details) ? (details as ReviewRefusal[]) : [] };
}

/** Sends `approveReview` and waits briefly for the gate to open or to say why it stays closed. */
export async function approve(client: Client, workflowId: string, approval: ApproveReview): Promise<ReviewProgress> {
  const handle = client.workflow.getHandle(workflowId);
  const before = await handle.query<ReviewProgress>('reviewProgress');
  if (!before.waiting) {
    throw new Error(
      before.released
        ? `build ${workflowId} has already passed its review gate`
        : `build ${workflowId} is not at its review gate yet`,
    );
  }
  await handle.signal('approveReview', approval);
  let last = before;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    last = await handle.query<ReviewProgress>('reviewProgress');
    if (last.released || !last.waiting || (last.blocked && last.blocked !== before.blocked) || last.reviewer)
      return last;
  }
  return last;
}

/** `--address` / `--namespace` for a command printed as a hint, always naming the server. */
function flags(target: Target): string {
  return `--address ${target.address}${target.namespace === 'default' ? '' : ` --namespace ${target.namespace}`}`;
}

export function registerReviewCommands(
  program: Command,
  connect: { client: () => Promise<Client>; target: () => Target },
): void {
  const review = program.command('review').description('review a build waiting at its review gate');

  review
    .command('export <workflowId>')
    .description('write the records awaiting review to a JSONL or CSV sheet (the workers read their texts)')
    .requiredOption('--out <file>', 'sheet to write: .jsonl, or .csv')
    .action(async (id: string, o: { out: string }) => {
      const c = await connect.client();
      try {
        const t = connect.target();
        const { databaseUrl } = parseEnv();
        const database = databaseUrl ? await openDatabase({ url: databaseUrl, embeddedDir: '' }) : undefined;
        let count: number;
        try {
          count = await exportSheet(c, t.namespace, id, o.out, ITEMS_PAGE, database?.db);
        } finally {
          await database?.close();
        }
        console.log(`${count} records awaiting review written to ${path.resolve(o.out)}`);
        console.log(
          'fill in each row\'s "decision" (approve, reject with a "reason", or revise with "new_question"/"new_answer"), then:',
        );
        console.log(`  npx fasforge review import ${id} ${o.out} --reviewer <name> ${flags(t)}`);
      } finally {
        await c.connection.close();
      }
    });

  review
    .command('import <workflowId> <sheet>')
    .description('send the decisions of a filled-in sheet to the build (the submitReviewDecisions update)')
    .requiredOption('--reviewer <name>', 'who made these decisions')
    .option('--chunk <n>', 'decisions per update', (v) => Number.parseInt(v, 10), IMPORT_CHUNK)
    .action(async (id: string, sheet: string, o: { reviewer: string; chunk: number }) => {
      if (!Number.isInteger(o.chunk) || o.chunk < 1 || o.chunk > 1000) throw new Error('--chunk takes 1 to 1000');
      const read = readSheet(sheet);
      const c = await connect.client();
      try {
        await requireWorkers(c, connect.target().namespace);
        const sent = await importDecisions(c, id, o.reviewer, read.decisions, o.chunk);
        const refusals = [...read.refusals, ...sent.refusals];
        console.log(
          `accepted ${sent.accepted}, already recorded ${sent.unchanged}, refused ${refusals.length}, without a decision ${read.undecided}`,
        );
        for (const r of refusals) console.log(`  refused ${r.id}: ${r.reason}`);
        const p = await c.workflow.getHandle(id).query<ReviewProgress>('reviewProgress');
        console.log(
          `review: ${p.pending} pending, ${p.approved} approved, ${p.rejected} rejected, ${p.revised} revised`,
        );
        if (refusals.length) process.exitCode = 1;
      } finally {
        await c.connection.close();
      }
    });

  review
    .command('approve <workflowId>')
    .description('approve the review and release the build to export (the approveReview signal)')
    .requiredOption('--reviewer <name>', 'who approves')
    .option('--note <text>', 'what was checked')
    .action(async (id: string, o: { reviewer: string; note?: string }) => {
      const c = await connect.client();
      try {
        await requireWorkers(c, connect.target().namespace);
        const p = await approve(c, id, { reviewer: o.reviewer, ...(o.note ? { note: o.note } : {}) });
        if (p.blocked && !p.reviewer) {
          console.log(`approval refused: ${p.blocked}`);
          process.exitCode = 1;
        } else {
          console.log(`build ${id} approved by ${o.reviewer}; it goes on to export`);
          console.log(`follow it: npx fasforge build status ${id} --watch ${flags(connect.target())}`);
        }
      } finally {
        await c.connection.close();
      }
    });
}
