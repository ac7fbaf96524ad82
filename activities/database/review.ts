/**
 * The review gate's database side: what awaits review (all active records, or a seeded sample
 * per class), reviewers' decisions with their before/after text, the drop of unreviewed records
 * when a timeout releases only approved ones, and the verdict the gate writes on release.
 * Every write is keyed by record id, so a retried activity writes nothing twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { distance } from 'fastest-levenshtein';
import { queryRows, type Db } from '../../db/client';
import { images, records, reviewDecisions, verdicts } from '../../db/schema';
import type {
  RecordReviewInput,
  ReviewDecision,
  ReviewItem,
  ReviewItemsInput,
  ReviewItemsPage,
  ReviewState,
} from '../contracts';

/** The verdict reason a reviewer's rejection gets; the reviewer's own words are in its detail. */
export const REJECTED_REASON = 'rejected_by_reviewer';
export const UNREVIEWED_REASON = 'unreviewed';

export async function describeReview(db: Db, buildId: string): Promise<ReviewState> {
  const rows = await queryRows<{ set: string; n: string }>(
    db,
    sql`select set, count(*) as n from records where build_id = ${buildId} and status = 'active' group by set`,
  );
  const bySet = Object.fromEntries(rows.map((r) => [r.set, Number(r.n)]));
  return { pending: rows.reduce((s, r) => s + Number(r.n), 0), bySet };
}

/** A page of the records the gate covers, in seq order: every active record, or the sample. */
export async function listReviewItems(db: Db, input: ReviewItemsInput): Promise<ReviewItemsPage> {
  if (input.ids) return { items: await reviewItemsById(db, input.buildId, input.ids) };
  const { buildId, afterSeq, limit, sample } = input;
  const rows = await queryRows<{
    seq: string | number;
    id: string;
    set: string;
    task: string;
    cls: string;
    box: [number, number, number, number] | null;
  }>(
    db,
    sql`with covered as (
          select r.seq, r.id, r.set, r.task, coalesce(i.class_name, 'unknown') as cls, r.box,
                 row_number() over (partition by coalesce(i.class_name, 'unknown')
                                    order by md5(${sample?.seed ?? ''} || r.id), r.id) as rank
            from records r join images i on i.seq = r.image_seq
           where r.build_id = ${buildId} and r.status = 'active')
        select seq, id, set, task, cls, box from covered
         where seq > ${afterSeq} and (${sample?.perClass ?? null}::int is null or rank <= ${sample?.perClass ?? null}::int)
         order by seq limit ${limit}`,
  );
  const items: ReviewItem[] = rows.map((r) => ({
    id: r.id,
    set: r.set,
    task: r.task,
    class: r.cls,
    ...(r.task === 'localization' && r.box ? { box: r.box } : {}),
  }));
  const last = rows[rows.length - 1];
  return { items, ...(rows.length === limit && last ? { nextAfterSeq: Number(last.seq) } : {}) };
}

/** The records `ids` of the build, in the order given, with what a reviewer reads on the sheet. */
async function reviewItemsById(db: Db, buildId: string, ids: string[]): Promise<ReviewItem[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ r: records, image: images.absPath, label: images.className })
    .from(records)
    .innerJoin(images, eq(images.seq, records.imageSeq))
    .where(and(eq(records.buildId, buildId), inArray(records.id, ids)));
  const byId = new Map(rows.map((row) => [row.r.id, row]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `build ${buildId} holds no record ${missing.slice(0, 5).join(', ')} that its review gate lists`,
      'ReviewItemsMissing',
    );
  }
  return ids.map((id) => {
    const { r, image, label } = byId.get(id)!;
    return {
      id: r.id,
      set: r.set,
      task: r.task,
      class: label ?? 'unknown',
      ...(r.task === 'localization' && r.box ? { box: r.box as [number, number, number, number] } : {}),
      question: r.question ?? '',
      answer: r.answer ?? '',
      image,
      clipScore: r.clipScore,
    };
  });
}

/**
 * Writes validated decisions. A rejection drops the record at stage `review`; a revision
 * replaces its question and answer and keeps the original text and a diff in the decision row.
 */
export async function recordReviewDecisions(db: Db, input: RecordReviewInput): Promise<{ written: number }> {
  const { buildId, reviewer } = input;
  if (input.decisions.length === 0) return { written: 0 };
  return db.transaction(async (tx) => {
    const ids = input.decisions.map((d) => d.id);
    const current = await tx
      .select({ id: records.id, question: records.question, answer: records.answer })
      .from(records)
      .where(and(eq(records.buildId, buildId), inArray(records.id, ids)));
    const byId = new Map(current.map((r) => [r.id, r]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) {
      throw ApplicationFailure.nonRetryable(
        `review decisions name records that build ${buildId} does not hold: ${missing.slice(0, 5).join(', ')}`,
        'ReviewDecisionError',
      );
    }
    const decidedAt = input.decidedAt ? new Date(input.decidedAt) : new Date();
    const rows = input.decisions.map((d) => ({ ...decisionRow(buildId, reviewer, d, byId.get(d.id)!), decidedAt }));
    const inserted = await tx
      .insert(reviewDecisions)
      .values(rows)
      .onConflictDoNothing()
      .returning({ recordId: reviewDecisions.recordId });
    const fresh = new Set(inserted.map((r) => r.recordId));
    for (const d of input.decisions) {
      if (!fresh.has(d.id)) continue;
      const rejected = d.decision === 'reject';
      await tx
        .insert(verdicts)
        .values({
          buildId,
          recordId: d.id,
          stage: 'review',
          verdict: rejected ? 'dropped' : 'kept',
          reason: rejected ? REJECTED_REASON : null,
          detail: { reviewer, decision: d.decision, ...(d.reason ? { reason: d.reason } : {}) },
        })
        .onConflictDoNothing();
      const before = byId.get(d.id)!;
      await tx
        .update(records)
        .set({
          stage: 'review',
          ...(rejected ? { status: 'dropped', reason: REJECTED_REASON } : {}),
          ...(d.decision === 'revise'
            ? { question: d.question ?? before.question, answer: d.answer ?? before.answer }
            : {}),
        })
        .where(and(eq(records.id, d.id), eq(records.status, 'active')));
    }
    return { written: fresh.size };
  });
}

function decisionRow(
  buildId: string,
  reviewer: string,
  d: ReviewDecision,
  before: { question: string | null; answer: string | null },
): typeof reviewDecisions.$inferInsert {
  const revised = d.decision === 'revise';
  const afterQuestion = revised ? (d.question ?? before.question) : null;
  const afterAnswer = revised ? (d.answer ?? before.answer) : null;
  return {
    buildId,
    recordId: d.id,
    decision: d.decision,
    reviewer,
    reason: d.reason ?? null,
    beforeQuestion: revised ? before.question : null,
    beforeAnswer: revised ? before.answer : null,
    afterQuestion,
    afterAnswer,
    diff: revised
      ? {
          question: textDiff(before.question ?? '', afterQuestion ?? ''),
          answer: textDiff(before.answer ?? '', afterAnswer ?? ''),
        }
      : null,
  };
}

/** The changed span between two texts (common prefix and suffix removed) and their edit distance. */
export function textDiff(
  before: string,
  after: string,
): { at: number; removed: string; added: string; distance: number } | null {
  if (before === after) return null;
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start += 1;
  let end = 0;
  while (
    end < before.length - start &&
    end < after.length - start &&
    before[before.length - 1 - end] === after[after.length - 1 - end]
  )
    end += 1;
  return {
    at: start,
    removed: before.slice(start, before.length - end),
    added: after.slice(start, after.length - end),
    distance: distance(before, after),
  };
}

/** Drops every active record of the build that no reviewer decided on, reason `unreviewed`. */
export async function dropUnreviewed(db: Db, buildId: string): Promise<{ dropped: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into verdicts (build_id, record_id, stage, verdict, reason)
      select r.build_id, r.id, 'review', 'dropped', ${UNREVIEWED_REASON}
        from records r
       where r.build_id = ${buildId} and r.status = 'active'
         and not exists (select 1 from review_decisions d where d.record_id = r.id)
      on conflict (record_id, stage) do nothing`);
    const dropped = await tx
      .update(records)
      .set({ status: 'dropped', stage: 'review', reason: UNREVIEWED_REASON })
      .where(
        and(
          eq(records.buildId, buildId),
          eq(records.status, 'active'),
          sql`not exists (select 1 from review_decisions d where d.record_id = ${records.id})`,
        ),
      )
      .returning({ id: records.id });
    return { dropped: dropped.length };
  });
}

/** Writes the review verdict for every record still active: approved by the named reviewer. */
export async function recordApproval(db: Db, buildId: string, reviewer: string, note?: string): Promise<void> {
  await db.execute(sql`
    insert into verdicts (build_id, record_id, stage, verdict, detail)
    select build_id, id, 'review', 'kept', ${JSON.stringify({ reviewer, note: note ?? null })}::jsonb
      from records where build_id = ${buildId} and status = 'active'
    on conflict (record_id, stage) do nothing`);
  await db
    .update(records)
    .set({ stage: 'review' })
    .where(and(eq(records.buildId, buildId), eq(records.status, 'active')));
}

export interface ReviewLineage {
  decision: string;
  reviewer: string;
  decidedAt: string;
  reason?: string;
  /** For a revision: the text the model produced, before the reviewer's edit. */
  original?: { question: string | null; answer: string | null };
  diff?: unknown;
}

/** The review decision of each of `ids` that has one, for the export's lineage file. */
export async function reviewLineage(db: Db, ids: string[]): Promise<Map<string, ReviewLineage>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select().from(reviewDecisions).where(inArray(reviewDecisions.recordId, ids));
  return new Map(
    rows.map((r) => [
      r.recordId,
      {
        decision: r.decision,
        reviewer: r.reviewer,
        decidedAt: r.decidedAt.toISOString(),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.decision === 'revise'
          ? { original: { question: r.beforeQuestion, answer: r.beforeAnswer }, diff: r.diff }
          : {}),
      },
    ]),
  );
}
