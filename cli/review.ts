/**
 * `fasforge review export|import|approve`: the reviewer's side of a build's review gate.
 * `export` writes the records awaiting review to a JSONL or CSV sheet (the gate's `reviewProgress`
 * query names them; their text comes from the build database). Reviewers fill in `decision`
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
import { eq, inArray } from 'drizzle-orm';
import { parseEnv } from '../config/env';
import { openDatabase, type Db } from '../db/client';
import { images, records } from '../db/schema';
import type {
  ApproveReview,
  ReviewDecision,
  ReviewDecisionBatch,
  ReviewDecisionResult,
  ReviewItem,
  ReviewProgress,
  ReviewRefusal,
} from '../workflows/messages';
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

const QUERY_PAGE = 500;
export const IMPORT_CHUNK = 200;

/** Every record the gate still waits on, page by page from the `reviewProgress` query. */
export async function pendingItems(
  client: Client,
  workflowId: string,
): Promise<{ progress: ReviewProgress; items: ReviewItem[] }> {
  const handle = client.workflow.getHandle(workflowId);
  const items: ReviewItem[] = [];
  let progress = await handle.query<ReviewProgress, [object]>('reviewProgress', { offset: 0, limit: QUERY_PAGE });
  if (!progress.waiting) {
    throw new Error(
      progress.released
        ? `build ${workflowId} has passed its review gate; nothing awaits review`
        : `build ${workflowId} is not at its review gate yet; \`npx fasforge build status ${workflowId}\` shows its stage`,
    );
  }
  for (;;) {
    items.push(...progress.page.items);
    if (progress.page.items.length < QUERY_PAGE) break;
    progress = await handle.query<ReviewProgress, [object]>('reviewProgress', {
      offset: items.length,
      limit: QUERY_PAGE,
    });
  }
  return { progress, items };
}

/** Rows for the sheet: the gate's items with their text, image and scores from the database. */
export async function sheetRows(db: Db, items: ReviewItem[]): Promise<SheetRow[]> {
  const byId = new Map<string, SheetRow>();
  for (let i = 0; i < items.length; i += 1000) {
    const ids = items.slice(i, i + 1000).map((it) => it.id);
    const rows = await db
      .select({ r: records, image: images.absPath, label: images.className })
      .from(records)
      .innerJoin(images, eq(images.seq, records.imageSeq))
      .where(inArray(records.id, ids));
    for (const { r, image, label } of rows) {
      byId.set(r.id, {
        id: r.id,
        set: r.set,
        task: r.task,
        label: label ?? '',
        image,
        box: r.box ? JSON.stringify(r.box) : '',
        clip_score: r.clipScore === null ? '' : String(r.clipScore),
        question: r.question ?? '',
        answer: r.answer ?? '',
        decision: '',
        reason: '',
        new_question: '',
        new_answer: '',
      });
    }
  }
  const missing = items.filter((it) => !byId.has(it.id));
  if (missing.length) {
    throw new Error(
      `the database has no record for ${missing.length} items the gate lists (first: ${missing[0]!.id}); ` +
        'point DATABASE_URL at the database the workers use',
    );
  }
  return items.map((it) => byId.get(it.id)!);
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
  if (isCsv(file)) {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, trim: false }) as Record<
      string,
      unknown
    >[];
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

/**
 * The embedded database belongs to one process at a time. When workers poll the pipeline queue,
 * they hold it (or use a PostgreSQL server this shell does not name), so export waits for either.
 */
async function refuseWhileWorkersHoldEmbedded(client: Client, target: Target): Promise<void> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: target.namespace,
    taskQueue: { name: TASK_QUEUES.pipeline },
    // TASK_QUEUE_TYPE_ACTIVITY: the pipeline activities are the ones that open the database.
    taskQueueType: 2,
  });
  const recent = (res.pollers ?? []).filter(
    (p) => Date.now() - Number(p.lastAccessTime?.seconds ?? 0) * 1000 < 120_000,
  );
  if (recent.length) {
    throw new Error(
      `workers are serving the pipeline queue (${recent.map((p) => p.identity).join(', ')}), and DATABASE_URL is not set: ` +
        'set DATABASE_URL to the database they use, or, with the embedded database, stop them first ' +
        '(the build waits at its gate meanwhile) and start them again after the export',
    );
  }
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
    .description('write the records awaiting review to a JSONL or CSV sheet (reads texts from the build database)')
    .requiredOption('--out <file>', 'sheet to write: .jsonl, or .csv')
    .action(async (id: string, o: { out: string }) => {
      const env = parseEnv();
      const c = await connect.client();
      try {
        const { items } = await pendingItems(c, id);
        if (!env.databaseUrl) await refuseWhileWorkersHoldEmbedded(c, connect.target());
        const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
        try {
          writeSheet(o.out, await sheetRows(database.db, items));
        } finally {
          await database.close();
        }
        const t = connect.target();
        console.log(`${items.length} records awaiting review written to ${path.resolve(o.out)}`);
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
