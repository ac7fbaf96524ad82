/**
 * Writes the dataset files of one export: every chosen format, the lineage file
 * (`records.jsonl`) and the images, streaming the records page by page. Returns what was
 * written and the counts the summary and the card report.
 */
import path from 'node:path';
import type { Taxonomy } from '../../config/assets';
import type { BoxFormat, ExportFormat } from '../../config/build-input';
import type { Db } from '../../db/client';
import { reviewLineage, type ReviewLineage } from '../database/review';
import { heartbeat } from '../heartbeat';
import { FormatWriters, renderRecord } from './formats';
import { ImagePlacer, type PlacedImages } from './images';
import { classOf, exportRecordPages, splitOf, type ExportRecord } from './records';
import { TextFile } from './sinks';

export interface SetCounts {
  total: number;
  byClass: Record<string, number>;
  byTask: Record<string, number>;
  bySplit: Record<string, number>;
}

export interface DatasetOptions {
  formats: readonly ExportFormat[];
  boxFormat: BoxFormat;
  images: 'copy' | 'hardlink';
}

export interface DatasetWritten {
  counts: Record<'pretrain' | 'sft', SetCounts>;
  /** Records per class, task and split: `cells[class][task][split]`. */
  cells: Record<string, Record<string, Record<string, number>>>;
  images: PlacedImages;
  files: Record<string, string[]>;
}

export async function writeDataset(
  db: Db,
  args: {
    buildId: string;
    dir: string;
    options: DatasetOptions;
    taxonomy: Taxonomy;
    createdBy: string;
    /** Called after each page with the number of records written so far. */
    progress?: (written: number) => void;
  },
): Promise<DatasetWritten> {
  const { buildId, dir, options } = args;
  const empty = (): SetCounts => ({ total: 0, byClass: {}, byTask: {}, bySplit: {} });
  const counts = { pretrain: empty(), sft: empty() };
  const cells: DatasetWritten['cells'] = {};
  const placer = new ImagePlacer(dir, options.images);
  const lineage = new TextFile(path.join(dir, 'records.jsonl'), 'lines');
  const writers = new FormatWriters(dir, options.formats, args.taxonomy, options.boxFormat, args.createdBy);
  let done = 0;
  for await (const page of exportRecordPages(db, buildId)) {
    const reviews = await reviewLineage(
      db,
      page.map((r) => r.id),
    );
    for (const r of page) {
      const image = await placer.place(r);
      await writers.write(renderRecord(r, image, options.boxFormat));
      await lineage.push(JSON.stringify(lineageOf(r, image, reviews.get(r.id))));
      tally(counts, cells, r);
    }
    done += page.length;
    heartbeat({ stage: 'export', written: done });
    args.progress?.(done);
  }
  await lineage.close();
  const files = await writers.close();
  files.lineage = ['records.jsonl'];
  return { counts, cells, images: placer.stats, files };
}

function tally(counts: DatasetWritten['counts'], cells: DatasetWritten['cells'], r: ExportRecord): void {
  const c = counts[r.set === 'pretrain' ? 'pretrain' : 'sft'];
  const cls = classOf(r);
  const split = splitOf(r);
  c.total += 1;
  c.byClass[cls] = (c.byClass[cls] ?? 0) + 1;
  c.byTask[r.task] = (c.byTask[r.task] ?? 0) + 1;
  c.bySplit[split] = (c.bySplit[split] ?? 0) + 1;
  const byTask = (cells[cls] ??= {});
  const bySplit = (byTask[r.task] ??= {});
  bySplit[split] = (bySplit[split] ?? 0) + 1;
}

/** One line of `records.jsonl`: where the record came from; its box in the stored absolute notation. */
function lineageOf(r: ExportRecord, image: string, review: ReviewLineage | undefined) {
  return {
    id: r.id,
    set: r.set,
    task: r.task,
    image,
    source: {
      name: r.image.source,
      adapter: r.image.adapter,
      path: r.image.relPath,
      nativeLabel: r.image.nativeLabel,
      licence: r.image.licence,
      subject: r.image.subject,
    },
    class: r.image.className,
    split: r.image.split,
    origin: r.origin,
    parentId: r.parentId,
    box: r.box,
    model: r.model,
    promptVersion: r.promptVersion,
    clipScore: r.clipScore,
    ...(review ? { review } : {}),
  };
}
