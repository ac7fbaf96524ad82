/**
 * A finished build written straight into the database, without Temporal or any model: images
 * (real PNG files), generated and augmented records for every task, CLIP scores, verdicts for
 * each stage, model-call ledger rows and review decisions. The export tests and the export
 * benchmark use it to get a build of any size whose every figure is known.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { sql } from 'drizzle-orm';
import type { ExportInput } from '../../activities/contracts';
import { splitForSubject } from '../../activities/files/ingest';
import { parseBuildInput } from '../../config/build-input';
import type { Db } from '../../db/client';
import { builds, images, modelCalls, records, reviewDecisions, verdicts } from '../../db/schema';

export const SYNTHETIC_CLASSES = ['Bonafide', 'Print', 'Replay', 'Partial Eye', 'Rigid mask'] as const;
const CLIP_THRESHOLD = 0.15;

export interface SyntheticBuild {
  buildId: string;
  root: string;
  input: ExportInput;
  imageCount: number;
}

/** Writes `imageCount` images under `root` and a build over them; about `5 × imageCount` records. */
export async function seedSyntheticBuild(
  db: Db,
  opts: { buildId: string; root: string; imageCount: number; exportDir: string; review?: boolean },
): Promise<SyntheticBuild> {
  const { buildId, root, imageCount } = opts;
  const config = parseBuildInput({
    name: `synthetic ${buildId}`,
    sources: [{ name: 'syn', adapter: 'siw-mv2', root, licence: 'Synthetic test licence' }],
    clip: { threshold: CLIP_THRESHOLD },
    export: { dir: opts.exportDir },
  });
  await db.insert(builds).values({ id: buildId, config }).onConflictDoNothing();
  fs.mkdirSync(root, { recursive: true });

  const CHUNK = 250;
  for (let start = 0; start < imageCount; start += CHUNK) {
    const imageRows = [];
    for (let i = start; i < Math.min(imageCount, start + CHUNK); i++)
      imageRows.push(await syntheticImage(root, buildId, i));
    const inserted = await db
      .insert(images)
      .values(imageRows)
      .returning({ seq: images.seq, box: images.spoofBox, cls: images.className });
    const recs: (typeof records.$inferInsert)[] = [];
    const vs: (typeof verdicts.$inferInsert)[] = [];
    for (const [k, img] of inserted.entries()) recordsFor(buildId, start + k, img, recs, vs);
    for (let j = 0; j < recs.length; j += 1000) await db.insert(records).values(recs.slice(j, j + 1000));
    for (let j = 0; j < vs.length; j += 1000) await db.insert(verdicts).values(vs.slice(j, j + 1000));
  }
  await db.insert(modelCalls).values([
    { buildId, cacheKey: `${buildId}-v`, role: 'vision', model: 'synthetic/vision', cacheHit: false },
    { buildId, cacheKey: `${buildId}-t`, role: 'text', model: 'synthetic/text', cacheHit: false },
  ]);
  if (opts.review !== false) {
    // A few per-record decisions, as reviewers would leave them.
    await db.execute(sql`
      insert into ${reviewDecisions} (build_id, record_id, decision, reviewer)
      select build_id, id, case when seq % 2 = 0 then 'approve' else 'revise' end, case when seq % 3 = 0 then 'ana' else 'ben' end
        from ${records} where build_id = ${buildId} and status = 'active' and set = 'sft' and seq % 7 = 0`);
  }
  const input: ExportInput = {
    buildId,
    prepared: { input: config, exportDir: opts.exportDir, models: { vision: 'vision-model', text: 'text-model' } },
    clipModel: { modelId: 'fasforge-tiny-clip-standin', standIn: true, provider: 'cpu' },
    review:
      opts.review === false
        ? { skipped: true }
        : { reviewer: 'ana', note: 'checked', approvedAt: '2026-12-01T10:00:00.000Z' },
  };
  return { buildId, root, input, imageCount };
}

async function syntheticImage(root: string, buildId: string, i: number): Promise<typeof images.$inferInsert> {
  const cls = SYNTHETIC_CLASSES[i % SYNTHETIC_CLASSES.length]!;
  const subject = `s${Math.floor(i / 3)}`;
  const rel = `${cls.replace(' ', '_')}/${subject}-${i}.png`;
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const width = 64;
  const height = 48;
  // Every image's pixels differ, so every content hash does.
  const pixels = Buffer.alloc(width * height * 3, i % 251);
  pixels.writeUInt32BE(i, 0);
  await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
  const bytes = fs.readFileSync(file);
  const partial = cls === 'Partial Eye' || cls === 'Rigid mask';
  return {
    buildId,
    source: 'syn',
    adapter: 'siw-mv2',
    relPath: rel,
    absPath: file,
    contentHash: createHash('sha256').update(bytes).digest('hex'),
    nativeLabel: cls,
    className: cls,
    subject,
    licence: 'Synthetic test licence',
    width,
    height,
    spoofBox: partial ? [8 + (i % 5), 10, 40.5, 30] : null,
    split: splitForSubject(`syn/${subject}`),
    status: 'ok',
  };
}

const box = (b: number[]) => `[${b.map((v) => v.toFixed(1)).join(', ')}]`;

function recordsFor(
  buildId: string,
  i: number,
  img: { seq: number; box: [number, number, number, number] | null; cls: string | null },
  recs: (typeof records.$inferInsert)[],
  vs: (typeof verdicts.$inferInsert)[],
): void {
  const tasks = ['pretrain', 'coarse', 'fine', 'reasoning', ...(img.box ? ['localization'] : [])];
  for (const task of tasks) {
    const id = `${buildId}:${img.seq}:${task}`;
    const base = {
      buildId,
      imageSeq: img.seq,
      set: task === 'pretrain' ? 'pretrain' : 'sft',
      task,
      model: 'synthetic/vision',
      promptVersion: 'prompts-v1',
      box: task === 'localization' ? img.box : null,
    };
    const answer =
      task === 'localization'
        ? `The spoof region is at ${box(img.box!)} in image ${i}.`
        : `A ${img.cls} face, image ${i}, answered for the ${task} task with enough words to look like a paragraph.`;
    vs.push({ buildId, recordId: id, stage: 'generate', verdict: 'kept' });
    if (task === 'pretrain') {
      const clipScore = ((i * 37) % 100) / 400 + 0.05;
      const kept = clipScore >= CLIP_THRESHOLD;
      recs.push({
        ...base,
        id,
        origin: 'generated',
        question: 'What does the image depict?',
        answer,
        clipScore,
        status: kept ? 'active' : 'dropped',
        stage: 'clip_filter',
        reason: kept ? null : 'clip_below_threshold',
      });
      vs.push({
        buildId,
        recordId: id,
        stage: 'clip_filter',
        verdict: kept ? 'kept' : 'dropped',
        reason: kept ? null : 'clip_below_threshold',
        detail: { score: clipScore, threshold: CLIP_THRESHOLD, mode: 'absolute', model: 'fasforge-tiny-clip-standin' },
      });
      continue;
    }
    const refused = i % 11 === 0 && task === 'reasoning';
    recs.push({
      ...base,
      id,
      origin: 'generated',
      question: `Question ${i} for ${task}?`,
      answer,
      status: refused ? 'dropped' : 'active',
      stage: 'special_words',
      reason: refused ? 'special_words' : null,
    });
    vs.push({
      buildId,
      recordId: id,
      stage: 'special_words',
      verdict: refused ? 'dropped' : 'kept',
      reason: refused ? 'special_words' : null,
    });
    if (!refused && task === 'fine') {
      const child = `${id}:aug1`;
      recs.push({
        ...base,
        id: child,
        parentId: id,
        origin: 'augmented',
        model: 'synthetic/text',
        question: `Rephrased question ${i} for ${task}?`,
        answer: `${answer} (rephrased)`,
        status: 'active',
        stage: 'judge',
      });
      vs.push({ buildId, recordId: child, stage: 'judge', verdict: 'kept' });
    }
  }
}
