/**
 * Ingest: lists each source, decodes and hashes every image, maps its native label to one of
 * the 12 canonical classes, and writes the catalogue. Every file found gets a row — kept,
 * excluded with a reason, or failed with a reason — and rows are keyed by (build, source, path),
 * so a retried ingest writes each file once.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Taxonomy } from '../../config/assets';
import { queryRows, type Db } from '../../db/client';
import { images } from '../../db/schema';
import type { BatchCounts, IngestInput } from '../contracts';
import { heartbeat } from '../heartbeat';
import { inspectImage } from '../images/inspect';
import { readCocoBoxes, type Box } from './coco';
import { listSiwMv2 } from './siw-mv2';

type ImageRow = typeof images.$inferInsert;

export async function ingestSources(db: Db, taxonomy: Taxonomy, { buildId, input }: IngestInput): Promise<BatchCounts> {
  const counts: BatchCounts = { in: 0, kept: 0, dropped: {}, failed: {} };
  const seenHashes = new Map<string, string>(await existingHashes(db, buildId));
  let budget = input.maxImages ?? Number.POSITIVE_INFINITY;

  for (const source of input.sources) {
    const mapping = taxonomy.native[source.adapter] ?? {};
    const entries = await listSiwMv2(source.root);
    const boxes = source.spoofRegions ? await readCocoBoxes(source.spoofRegions) : new Map<string, Box>();
    const rows: ImageRow[] = [];
    for (const [i, entry] of entries.entries()) {
      if (budget <= 0) break;
      const row: ImageRow = {
        buildId,
        source: source.name,
        adapter: source.adapter,
        relPath: entry.relPath,
        absPath: entry.absPath,
        nativeLabel: entry.nativeLabel,
        className: mapping[entry.nativeLabel] ?? null,
        subject: entry.subject,
        licence: source.licence,
        spoofBox: boxes.get(entry.relPath) ?? null,
        split: splitForSubject(`${source.name}/${entry.subject}`),
        status: 'ok',
      };
      if (entry.kind !== 'image') {
        Object.assign(row, { status: 'excluded', reason: entry.kind === 'video' ? 'video_needs_frame_extraction' : 'not_an_image' });
      } else if (!row.className) {
        Object.assign(row, { status: 'excluded', reason: 'native_label_without_class', detail: entry.nativeLabel });
      } else {
        const seen = await inspectImage(entry.absPath);
        if (!seen.ok) {
          Object.assign(row, { status: 'failed', reason: seen.reason, detail: seen.detail, contentHash: seen.contentHash });
        } else {
          Object.assign(row, { contentHash: seen.contentHash, width: seen.width, height: seen.height });
          const first = seenHashes.get(seen.contentHash);
          if (first && first !== `${source.name}/${entry.relPath}`) {
            Object.assign(row, { status: 'excluded', reason: 'duplicate_content', detail: `same bytes as ${first}` });
          } else {
            seenHashes.set(seen.contentHash, `${source.name}/${entry.relPath}`);
            budget -= 1;
          }
        }
      }
      tally(counts, row);
      rows.push(row);
      if (i % 50 === 0) heartbeat({ source: source.name, done: i, total: entries.length });
    }
    for (let i = 0; i < rows.length; i += 500) {
      await db.insert(images).values(rows.slice(i, i + 500)).onConflictDoNothing();
    }
  }
  return counts;
}

function tally(counts: BatchCounts, row: ImageRow): void {
  counts.in += 1;
  if (row.status === 'ok') counts.kept += 1;
  const bucket = row.status === 'failed' ? counts.failed : row.status === 'excluded' ? counts.dropped : undefined;
  if (bucket && row.reason) bucket[row.reason] = (bucket[row.reason] ?? 0) + 1;
}

async function existingHashes(db: Db, buildId: string): Promise<[string, string][]> {
  const rows = await queryRows<{ content_hash: string; key: string }>(
    db,
    sql`select content_hash, source || '/' || rel_path as key from images
        where build_id = ${buildId} and status = 'ok' and content_hash is not null`,
  );
  return rows.map((r) => [r.content_hash, r.key]);
}

/** Subject-disjoint split: every image of one subject lands in the same split (80/10/10 by hash). */
export function splitForSubject(subjectKey: string): 'train' | 'val' | 'test' {
  const bucket = createHash('sha256').update(subjectKey).digest().readUInt32BE(0) % 10;
  return bucket < 8 ? 'train' : bucket === 8 ? 'val' : 'test';
}

export const resolveSourcePath = (base: string, p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
