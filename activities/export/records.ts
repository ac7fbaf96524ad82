/**
 * Reads the records an export writes (active after review) with their image, page by page in
 * seq order, so memory holds one page however large the build is.
 */
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { images, records } from '../../db/schema';

export const PAGE_SIZE = 250;

const columns = {
  seq: records.seq,
  id: records.id,
  set: records.set,
  task: records.task,
  origin: records.origin,
  parentId: records.parentId,
  question: records.question,
  answer: records.answer,
  box: records.box,
  model: records.model,
  promptVersion: records.promptVersion,
  clipScore: records.clipScore,
  image: {
    seq: images.seq,
    source: images.source,
    adapter: images.adapter,
    relPath: images.relPath,
    absPath: images.absPath,
    contentHash: images.contentHash,
    nativeLabel: images.nativeLabel,
    className: images.className,
    subject: images.subject,
    licence: images.licence,
    width: images.width,
    height: images.height,
    split: images.split,
  },
};

export type ExportRecord = Awaited<ReturnType<typeof readPage>>[number];

function readPage(db: Db, buildId: string, after: number, limit: number) {
  return db
    .select(columns)
    .from(records)
    .innerJoin(images, eq(images.seq, records.imageSeq))
    .where(and(eq(records.buildId, buildId), eq(records.status, 'active'), gt(records.seq, after)))
    .orderBy(asc(records.seq))
    .limit(limit);
}

/** Yields the build's exported records in pages of `PAGE_SIZE`; the next page is read while one is written. */
export async function* exportRecordPages(db: Db, buildId: string): AsyncGenerator<ExportRecord[]> {
  let next = readPage(db, buildId, 0, PAGE_SIZE);
  for (;;) {
    const page = await next;
    if (page.length === 0) return;
    next = readPage(db, buildId, page[page.length - 1]!.seq, PAGE_SIZE);
    // Marked handled in case the consumer stops early; a failure still surfaces on the next await.
    next.catch(() => undefined);
    yield page;
  }
}

/** The split a record belongs to: its image's subject-disjoint split. */
export const splitOf = (r: ExportRecord) => r.image.split ?? 'unsplit';
export const classOf = (r: ExportRecord) => r.image.className ?? 'unknown';
