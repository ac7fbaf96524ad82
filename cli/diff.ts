/**
 * `fasforge diff <A> <B>`: the records added, removed and changed from build A to build B.
 * Record ids differ per build, so records are matched by a content key (see `KEY_RULE`), computed
 * in SQL and compared page by page: memory holds one page of differences at a time.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { sql, type SQL } from 'drizzle-orm';
import { parseEnv } from '../config/env';
import { openDatabase, queryRows, type Db } from '../db/client';

export const KEY_RULE =
  'records are matched by image content hash (sha256 of the file), task, origin (generated or augmented) and ' +
  'position under their generated parent (":aug1", ":aug2", …); among the records both builds export, ' +
  'changed means a different question, answer, box, class or split';

const PAGE = 1000;
const FIELDS = ['question', 'answer', 'box', 'class', 'split'] as const;

type Side = {
  id: string;
  task: string;
  class: string | null;
  split: string | null;
  question: string | null;
  answer: string | null;
  box: unknown;
};
export interface DiffEntry {
  key: string;
  a?: Side;
  b?: Side;
}
export interface DiffResult {
  a: string;
  b: string;
  matchedBy: string;
  counts: { added: number; removed: number; changed: number; unchanged: number };
  added: Side[];
  removed: Side[];
  changed: { key: string; a: string; b: string; fields: Record<string, { a: unknown; b: unknown }> }[];
}

/** The content key of a record `r` joined with its image `i`. */
const keySql = sql.raw(
  `coalesce(i.content_hash, i.source || '/' || i.rel_path) || '/' || r.task || '/' || r.origin ||
   substr(r.id, length(r.build_id || ':' || r.image_seq || ':' || r.task) + 1)`,
);

const side = (buildId: string) => sql`
  select ${keySql} as key, r.id, r.task, i.class_name as class, i.split, r.question, r.answer, r.box
    from records r join images i on i.seq = r.image_seq
   where r.build_id = ${buildId} and r.status = 'active'`;

async function page(db: Db, a: string, b: string, after: string): Promise<Record<string, unknown>[]> {
  const differs: SQL = sql.raw(
    FIELDS.map((f) => `a.${f === 'box' ? 'box::text' : f} is distinct from b.${f === 'box' ? 'box::text' : f}`).join(
      ' or ',
    ),
  );
  return queryRows(
    db,
    sql`with a as (${side(a)}), b as (${side(b)})
        select coalesce(a.key, b.key) as key, to_jsonb(a) as a, to_jsonb(b) as b
          from a full outer join b on a.key = b.key
         where (a.key is null or b.key is null or ${differs}) and coalesce(a.key, b.key) > ${after}
         order by 1 limit ${PAGE}`,
  );
}

export async function* diffBuilds(db: Db, a: string, b: string): AsyncGenerator<DiffEntry> {
  let after = '';
  for (;;) {
    const rows = await page(db, a, b, after);
    for (const r of rows)
      yield { key: String(r.key), a: (r.a as Side | null) ?? undefined, b: (r.b as Side | null) ?? undefined };
    if (rows.length < PAGE) return;
    after = String(rows[rows.length - 1]!.key);
  }
}

async function unchangedCount(db: Db, a: string, b: string, changed: number): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    db,
    sql`with a as (${side(a)}), b as (${side(b)}) select count(*) as n from a join b on a.key = b.key`,
  );
  return Number(row?.n ?? 0) - changed;
}

async function requireBuild(db: Db, id: string): Promise<void> {
  const [row] = await queryRows<{ n: string }>(
    db,
    sql`select (select count(*) from builds where id = ${id}) + (select count(*) from records where build_id = ${id}) as n`,
  );
  if (!Number(row?.n)) throw new Error(`no build ${id} in this database; check DATABASE_URL or FASFORGE_HOME`);
}

export async function compareBuilds(db: Db, a: string, b: string, each?: (e: DiffEntry) => void): Promise<DiffResult> {
  await requireBuild(db, a);
  await requireBuild(db, b);
  const result: DiffResult = {
    a,
    b,
    matchedBy: KEY_RULE,
    counts: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    added: [],
    removed: [],
    changed: [],
  };
  for await (const e of diffBuilds(db, a, b)) {
    each?.(e);
    if (!e.a) {
      result.counts.added += 1;
      if (!each) result.added.push(e.b!);
    } else if (!e.b) {
      result.counts.removed += 1;
      if (!each) result.removed.push(e.a);
    } else {
      result.counts.changed += 1;
      if (!each) result.changed.push({ key: e.key, a: e.a.id, b: e.b.id, fields: changedFields(e.a, e.b) });
    }
  }
  result.counts.unchanged = await unchangedCount(db, a, b, result.counts.changed);
  return result;
}

export function changedFields(a: Side, b: Side): Record<string, { a: unknown; b: unknown }> {
  const out: Record<string, { a: unknown; b: unknown }> = {};
  for (const f of FIELDS) if (JSON.stringify(a[f]) !== JSON.stringify(b[f])) out[f] = { a: a[f], b: b[f] };
  return out;
}

const short = (s: string | null, n = 70) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : (s ?? ''));

export function registerDiffCommand(program: Command): void {
  program
    .command('diff <workflowIdA> <workflowIdB>')
    .description('list the records added, removed and changed from build A to build B')
    .option('--json', 'print one JSON object with every difference', false)
    .addHelpText('after', `\nMatching: ${KEY_RULE}.\nReads DATABASE_URL, or the embedded database under FASFORGE_HOME.`)
    .action(async (a: string, b: string, o: { json: boolean }) => {
      const env = parseEnv();
      const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
      try {
        if (o.json) {
          console.log(JSON.stringify(await compareBuilds(database.db, a, b), null, 2));
          return;
        }
        const r = await compareBuilds(database.db, a, b, (e) => {
          if (!e.a) console.log(`+ ${e.b!.id}  ${e.b!.task} ${e.b!.class} ${e.b!.split}  ${short(e.b!.question)}`);
          else if (!e.b) console.log(`- ${e.a.id}  ${e.a.task} ${e.a.class} ${e.a.split}  ${short(e.a.question)}`);
          else console.log(`~ ${e.a.id} -> ${e.b.id}  ${Object.keys(changedFields(e.a, e.b)).join(', ')}`);
        });
        const c = r.counts;
        console.log(
          `${a} -> ${b}: ${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.unchanged} unchanged`,
        );
      } finally {
        await database.close();
      }
    });
}
