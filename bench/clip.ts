/**
 * `npm run bench:clip -- --batch 32 [--images 192] [--rounds 2] [--model DIR]`: the whole CLIP
 * stage (read pending records, decode + preprocess, both towers, write scores and verdicts to
 * PostgreSQL) against raw inference of the same towers on ready tensors at the same batch size,
 * alternated in one run. The ratio says how much of the model's speed the stage keeps.
 *
 * The default model is a ViT-B/32-sized open_clip model with random weights, made by
 *   .fasforge/tools/clip-golden-venv/bin/python scripts/clip-golden/make-golden.py \
 *     --config ViT-B-32 --out .fasforge/models/clip-vit-b32-random --no-golden
 * (random weights cost the same to run as trained ones).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { sql } from 'drizzle-orm';

import { loadClipModel } from '../activities/clip';
import { createScoreRecords } from '../activities/clip/score-records';
import { parseBuildInput } from '../config/build-input';
import { parseEnv } from '../config/env';
import { queryRows, type OpenDatabase } from '../db/client';
import { images, records } from '../db/schema';
import { freshDatabase } from './database';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    images: { type: 'string', default: '192' },
    rounds: { type: 'string', default: '2' },
    model: { type: 'string', default: path.join(ROOT, '.fasforge/models/clip-vit-b32-random') },
  },
});
const batch = Number(values.batch);
const count = Number(values.images);
const rounds = Number(values.rounds);
for (const [name, v] of [
  ['--batch', batch],
  ['--images', count],
  ['--rounds', rounds],
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
}

const DESCRIPTIONS = [
  'A photo of a real person looking straight at the camera under even indoor light.',
  'A printed photograph is held in front of the camera; the paper border and a fold are visible.',
  'A replay attack: the face is shown on a phone screen with moire patterns and a bright reflection.',
  'A silicone mask with a glossy surface, a fixed expression and visible seams near the ears.',
];

/** `count` distinct image files (copies of the samples under new names: decodes are not shared). */
function imageFiles(dir: string): string[] {
  const samples: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.jpg')) samples.push(path.join(d, e.name));
    }
  };
  walk(path.join(ROOT, 'samples/siw-mv2'));
  samples.sort();
  return Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `img-${i}.jpg`);
    fs.copyFileSync(samples[i % samples.length] as string, file);
    return file;
  });
}

async function seed(database: OpenDatabase, buildId: string, files: string[]) {
  const imgs = await database.db
    .insert(images)
    .values(
      files.map((absPath, i) => ({
        buildId,
        source: 'bench',
        adapter: 'siw-mv2',
        relPath: `img-${i}.jpg`,
        absPath,
        nativeLabel: 'Live',
        className: i % 2 ? 'Bonafide' : 'Print',
        status: 'ok',
      })),
    )
    .returning({ seq: images.seq });
  const recs = await database.db
    .insert(records)
    .values(
      imgs.map((img, i) => ({
        id: `${buildId}:${i}`,
        buildId,
        imageSeq: img.seq,
        set: 'pretrain',
        task: 'pretrain',
        origin: 'generated',
        answer: DESCRIPTIONS[i % DESCRIPTIONS.length] as string,
        status: 'active',
        stage: 'label_check',
      })),
    )
    .returning({ seq: records.seq });
  return { from: recs[0]!.seq, to: recs[recs.length - 1]!.seq, count: recs.length };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(values.model, 'model.json'))) {
    throw new Error(
      `no model in ${values.model}; make a ViT-B/32-sized random one with\n  .fasforge/tools/clip-golden-venv/bin/python ` +
        `scripts/clip-golden/make-golden.py --config ViT-B-32 --out ${values.model} --no-golden`,
    );
  }
  const quiet = { info: () => undefined, warn: (msg: string, a?: object) => console.log(msg, a ?? '') };
  const scorer = await loadClipModel(values.model, { logger: quiet });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-bench-clip-'));
  const database = await freshDatabase('fasforge_bench_clip', parseEnv().databaseUrl);
  try {
    const files = imageFiles(tmp);
    const texts = files.map((_, i) => DESCRIPTIONS[i % DESCRIPTIONS.length] as string);
    console.log(
      `model ${scorer.modelId} (embed ${scorer.manifest.embedDim}) on the ${scorer.provider}, ${count} images, ` +
        `batch ${batch}, ${os.cpus().length} cores`,
    );

    // Ready tensors: every image decoded and preprocessed beforehand.
    const plane = 3 * scorer.manifest.imageSize ** 2;
    const pixels = new Float32Array(count * plane);
    for (let i = 0; i < count; i++) pixels.set(await scorer.preprocess(files[i] as string), i * plane);
    const raw = async (): Promise<number> => {
      const t0 = performance.now();
      for (let start = 0; start < count; start += batch) {
        const n = Math.min(batch, count - start);
        await Promise.all([
          scorer.embedPixels(pixels.subarray(start * plane, (start + n) * plane), n),
          scorer.embedTexts(texts.slice(start, start + n)),
        ]);
      }
      return (performance.now() - t0) / 1000;
    };

    const clip = parseBuildInput({
      sources: [{ name: 'bench', adapter: 'siw-mv2', root: tmp }],
      clip: { batchSize: batch, recordsPerActivity: count },
    }).clip;
    const score = createScoreRecords(database.db, () => Promise.resolve(scorer));
    let round = 0;
    const stage = async (): Promise<number> => {
      const buildId = `bench-clip-${round++}`;
      const range = await seed(database, buildId, files);
      const t0 = performance.now();
      const out = await score({ buildId, range, clip });
      const s = (performance.now() - t0) / 1000;
      const [row] = await queryRows<{ n: string }>(
        database.db,
        sql`select count(*) as n from records where build_id = ${buildId} and clip_score is not null`,
      );
      if (out.in !== count || Number(row?.n) !== count) throw new Error(`stage scored ${out.in} of ${count} records`);
      return s;
    };

    // Warm-up: first runs pay for memory planning and page-ins.
    await scorer.embedPixels(pixels.subarray(0, Math.min(batch, count) * plane), Math.min(batch, count));
    await scorer.embedTexts(texts.slice(0, Math.min(batch, count)));

    let rawTotal = 0;
    let stageTotal = 0;
    for (let r = 0; r < rounds; r++) {
      const a = await raw();
      const b = await stage();
      rawTotal += a;
      stageTotal += b;
      console.log(
        `round ${r + 1}: raw inference ${(count / a).toFixed(2)} images/s (${a.toFixed(1)} s), ` +
          `whole stage ${(count / b).toFixed(2)} images/s (${b.toFixed(1)} s)`,
      );
    }
    const rawRate = (count * rounds) / rawTotal;
    const stageRate = (count * rounds) / stageTotal;
    console.log(`raw inference on ready tensors: ${rawRate.toFixed(2)} images/s`);
    console.log(`whole CLIP stage (decode + preprocess + infer + persist): ${stageRate.toFixed(2)} images/s`);
    console.log(`ratio stage / raw: ${(stageRate / rawRate).toFixed(3)}`);
    console.log(
      JSON.stringify({
        bench: 'clip',
        model: scorer.modelId,
        provider: scorer.provider,
        batch,
        images: count,
        rounds,
        rawRate,
        stageRate,
        ratio: stageRate / rawRate,
      }),
    );
  } finally {
    await scorer.close();
    await database.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
