/**
 * Ingest: catalogues every source (see catalog.ts) and writes the catalogue. Every file found gets
 * a row — kept, excluded with a reason, or failed with a reason — and rows are keyed by
 * (build, source, path), so a retried ingest writes each file once. A source that cannot be read
 * as configured, a split that would leak a subject, or a catalogue that accepts no image at all
 * fails the build without retrying.
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import type { Taxonomy } from '../../config/assets';
import { queryRows, type Db } from '../../db/client';
import { images } from '../../db/schema';
import type { BatchCounts, IngestInput } from '../contracts';
import { heartbeat } from '../heartbeat';
import { catalogSources, noImageAccepted, type CatalogRow } from './catalog';
import { SourceLayoutError, SplitLeakageError } from './source-entry';

export { splitForSubject } from './catalog';

export interface IngestOptions {
  /** Frames, container samples and converted images are written under `<home>/frames`. */
  home: string;
}

export async function ingestSources(
  db: Db,
  taxonomy: Taxonomy,
  { buildId, input }: IngestInput,
  opts: IngestOptions,
): Promise<BatchCounts> {
  let rows: CatalogRow[];
  try {
    rows = await catalogSources(input.sources, taxonomy, {
      workDir: path.join(opts.home, 'frames'),
      known: new Map(await existingHashes(db, buildId)),
      maxImages: input.maxImages,
      onProgress: (p) => heartbeat(p),
    });
  } catch (err) {
    if (err instanceof SourceLayoutError) {
      throw ApplicationFailure.nonRetryable(`build ${buildId}: ${err.message}`, 'SourceError');
    }
    if (err instanceof SplitLeakageError) {
      throw ApplicationFailure.nonRetryable(`build ${buildId}: ${err.message}`, 'SplitLeakage');
    }
    throw err;
  }
  const counts: BatchCounts = { in: 0, kept: 0, dropped: {}, failed: {} };
  for (const row of rows) tally(counts, row);
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => ({ ...r, buildId }));
    await db.insert(images).values(values).onConflictDoNothing();
    heartbeat({ written: Math.min(i + 500, rows.length), total: rows.length });
  }
  // The rejections are written first, so the failed build still records why each file was refused.
  const none = noImageAccepted(input.sources, rows);
  if (none) throw ApplicationFailure.nonRetryable(`build ${buildId}: ${none.message}`, 'SourceError');
  return counts;
}

function tally(counts: BatchCounts, row: CatalogRow): void {
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
