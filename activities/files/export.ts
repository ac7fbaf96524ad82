/**
 * Export: writes the kept records as LLaVA/Bunny conversation JSON (`pretrain.json`, `sft.json`),
 * a lineage file (`records.jsonl`), the images under content-hash names, and `summary.json`.
 * Records are read page by page and streamed to disk, so memory does not grow with the dataset.
 * Paths inside the export are relative to its folder.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { PromptSet, Taxonomy } from '../../config/assets';
import { queryRows, type Db } from '../../db/client';
import { images, records } from '../../db/schema';
import type { ExportInput, ExportOutput } from '../contracts';
import { readFunnel } from '../database/funnel';
import { recordApproval } from '../database/review';
import { heartbeat } from '../heartbeat';
import { modelCallTotals } from '../model-api/gateway';

const PAGE = 1000;

interface SetCounts {
  total: number;
  byClass: Record<string, number>;
  byTask: Record<string, number>;
}

export async function exportBuild(db: Db, assets: { taxonomy: Taxonomy; prompts: PromptSet }, input: ExportInput): Promise<ExportOutput> {
  const { buildId, prepared } = input;
  if (!('skipped' in input.review)) await recordApproval(db, buildId, input.review.reviewer, input.review.note);
  const dir = prepared.exportDir;
  await fsp.mkdir(path.join(dir, 'images'), { recursive: true });

  const counts: Record<string, SetCounts> = {};
  const lineage = fs.createWriteStream(path.join(dir, 'records.jsonl'));
  for (const set of ['pretrain', 'sft'] as const) {
    const c: SetCounts = { total: 0, byClass: {}, byTask: {} };
    counts[set] = c;
    const out = fs.createWriteStream(path.join(dir, `${set}.json`));
    await write(out, '[');
    let after = 0;
    for (;;) {
      const page = await db
        .select({ r: records, i: images })
        .from(records)
        .innerJoin(images, eq(images.seq, records.imageSeq))
        .where(and(eq(records.buildId, buildId), eq(records.set, set), eq(records.status, 'active'), gt(records.seq, after)))
        .orderBy(asc(records.seq))
        .limit(PAGE);
      if (page.length === 0) break;
      for (const { r, i } of page) {
        const image = await placeImage(dir, i.absPath, i.contentHash ?? String(i.seq));
        const conv = {
          id: r.id,
          image,
          conversations: [
            { from: 'human', value: `<image>\n${r.question ?? ''}` },
            { from: 'gpt', value: r.answer ?? '' },
          ],
        };
        await write(out, `${c.total === 0 ? '\n' : ',\n'}${JSON.stringify(conv)}`);
        await write(lineage, `${JSON.stringify(lineageOf(r, i, image))}\n`);
        c.total += 1;
        c.byClass[i.className ?? 'unknown'] = (c.byClass[i.className ?? 'unknown'] ?? 0) + 1;
        c.byTask[r.task] = (c.byTask[r.task] ?? 0) + 1;
      }
      after = page[page.length - 1]!.r.seq;
      heartbeat({ set, written: c.total });
    }
    await write(out, '\n]\n');
    out.end();
    await once(out, 'finish');
  }
  lineage.end();
  await once(lineage, 'finish');

  const funnel = await readFunnel(db, buildId);
  const exported = counts.pretrain!.total + counts.sft!.total;
  funnel.push({ stage: 'export', in: exported, kept: exported, dropped: {}, failed: {} });
  const summary = {
    buildId,
    name: prepared.input.name,
    models: {
      vision: await servedModels(db, buildId, 'vision', prepared.models.vision),
      text: await servedModels(db, buildId, 'text', prepared.models.text),
      clip: input.clipModel ?? null,
    },
    versions: { taxonomy: assets.taxonomy.version, prompts: assets.prompts.version },
    review: input.review,
    counts,
    funnel,
    modelCalls: await modelCallTotals(db, buildId),
    exportedAt: new Date().toISOString(),
  };
  await fsp.writeFile(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { dir, counts: { pretrain: counts.pretrain!.total, sft: counts.sft!.total }, funnel };
}

function lineageOf(r: typeof records.$inferSelect, i: typeof images.$inferSelect, image: string) {
  return {
    id: r.id,
    set: r.set,
    task: r.task,
    image,
    source: { name: i.source, adapter: i.adapter, path: i.relPath, nativeLabel: i.nativeLabel, licence: i.licence, subject: i.subject },
    class: i.className,
    split: i.split,
    origin: r.origin,
    parentId: r.parentId,
    box: r.box,
    model: r.model,
    promptVersion: r.promptVersion,
    clipScore: r.clipScore,
  };
}

/** Copies an image into the export once, under its content hash, and returns its relative path. */
async function placeImage(dir: string, absPath: string, hash: string): Promise<string> {
  const rel = `images/${hash}${path.extname(absPath).toLowerCase()}`;
  const target = path.join(dir, rel);
  if (!fs.existsSync(target)) await fsp.copyFile(absPath, target);
  return rel;
}

async function write(stream: fs.WriteStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function servedModels(db: Db, buildId: string, role: string, requested: string) {
  const rows = await queryRows<{ model: string }>(
    db,
    sql`select distinct model from model_calls where build_id = ${buildId} and role = ${role} order by model`,
  );
  return { requested, served: rows.map((r) => r.model) };
}
