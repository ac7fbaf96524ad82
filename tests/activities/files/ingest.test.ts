/**
 * The ingest activity on a real PostgreSQL database: rows for every file, failures that say what
 * to do and do not retry, near-duplicate frames collapsed, and a split leak stopping the stage.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { ingestSources } from '../../../activities/files/ingest';
import { loadAssets } from '../../../config/assets';
import { parseBuildInput, type BuildInput } from '../../../config/build-input';
import type { Db } from '../../../db/client';
import { images } from '../../../db/schema';
import { createTestDatabase } from '../../support/env';

const samples = path.resolve(__dirname, '..', '..', '..', 'samples');
const { taxonomy } = loadAssets();
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let tmp: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-ingest-'));
});

afterAll(async () => {
  await testDb?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ingest = (buildId: string, sources: BuildInput['sources']) =>
  ingestSources(db, taxonomy, { buildId, input: parseBuildInput({ sources }) }, { home: path.join(tmp, 'home') });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

// Regression: a root with neither Live/ nor Spoof/ used to throw a plain error, retried ten times.
test('a SiW-Mv2 root without Live/ or Spoof/ fails at once with a SourceError saying what to do', async () => {
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  const err = await failure(ingest('b-layout', [{ name: 's', adapter: 'siw-mv2', root: empty }]));
  expect(err).toMatchObject({ type: 'SourceError', nonRetryable: true });
  expect(err.message).toContain('point "root" at the folder holding them');
});

// Regression: files directly inside Spoof/ used to get no row at all.
test('files directly inside Spoof/ get an excluded row with the reason', async () => {
  const root = path.join(tmp, 'siw');
  fs.mkdirSync(path.join(root, 'Live'), { recursive: true });
  fs.mkdirSync(path.join(root, 'Spoof'), { recursive: true });
  fs.copyFileSync(
    path.join(samples, 'siw-mv2', 'Live', 'astronaut-01.jpg'),
    path.join(root, 'Live', 'astronaut-01.jpg'),
  );
  fs.copyFileSync(
    path.join(samples, 'siw-mv2', 'Spoof', 'Print', 'hopper-01.jpg'),
    path.join(root, 'Spoof', 'hopper-01.jpg'),
  );
  const counts = await ingest('b-spoof', [{ name: 's', adapter: 'siw-mv2', root }]);
  expect(counts).toMatchObject({ in: 2, kept: 1, dropped: { no_attack_type_folder: 1 } });
  const rows = await db.select().from(images).where(eq(images.buildId, 'b-spoof'));
  expect(rows.find((r) => r.relPath === 'Spoof/hopper-01.jpg')).toMatchObject({
    status: 'excluded',
    reason: 'no_attack_type_folder',
    detail: expect.stringContaining('Spoof/<type>/'),
  });
  expect(rows.find((r) => r.relPath === 'Live/astronaut-01.jpg')).toMatchObject({
    status: 'ok',
    className: 'Bonafide',
    nativeName: 'bona fide',
    phash: expect.stringMatching(/^[01]{64}$/),
  });
});

test('near-duplicate frames of one video collapse within the frame budget, naming the frame kept', async () => {
  const video = path.join(tmp, 'still', 'Live', 'hopper-still.mp4');
  fs.mkdirSync(path.dirname(video), { recursive: true });
  // 30 frames of one photo with faint noise: every frame a near-duplicate of every other.
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-loop',
    '1',
    '-i',
    path.join(samples, 'siw-mv2', 'Live', 'hopper-01.jpg'),
    '-vf',
    'scale=128:150,noise=alls=4:allf=t',
    '-frames:v',
    '30',
    '-r',
    '10',
    '-c:v',
    'mpeg4',
    '-q:v',
    '6',
    video,
  ]);
  const counts = await ingest('b-video', [
    { name: 'v', adapter: 'siw-mv2', root: path.join(tmp, 'still'), frameBudget: 5 },
  ]);
  expect(counts).toMatchObject({ in: 5, kept: 1, dropped: { near_duplicate: 4 } });
  const rows = await db.select().from(images).where(eq(images.buildId, 'b-video'));
  const kept = rows.find((r) => r.status === 'ok')!;
  expect(kept).toMatchObject({ videoId: 'Live/hopper-still.mp4', relPath: 'Live/hopper-still.mp4#frame=3' });
  expect(fs.existsSync(kept.absPath)).toBe(true);
  for (const r of rows.filter((x) => x.status !== 'ok')) {
    expect(r).toMatchObject({ reason: 'near_duplicate', duplicateOf: 'v/Live/hopper-still.mp4#frame=3' });
  }
  // A retried ingest writes nothing twice.
  await ingest('b-video', [{ name: 'v', adapter: 'siw-mv2', root: path.join(tmp, 'still'), frameBudget: 5 }]);
  expect(await db.select().from(images).where(eq(images.buildId, 'b-video'))).toHaveLength(5);
});

test('a protocol that puts one subject in two splits fails the stage naming the subject', async () => {
  const root = path.join(tmp, 'leaky');
  fs.cpSync(path.join(samples, 'oulu-npu'), root, { recursive: true });
  // User 01 is listed for training and, in another video, for testing.
  fs.appendFileSync(path.join(root, 'Protocols', 'Protocol_1', 'Test.txt'), '-1,1_1_01_4\n');
  fs.writeFileSync(
    path.join(root, 'Protocols', 'Protocol_1', 'Train.txt'),
    fs.readFileSync(path.join(root, 'Protocols', 'Protocol_1', 'Train.txt'), 'utf8').replace(/^-1,1_1_01_4\n/m, ''),
  );
  const err = await failure(
    ingest('b-leak', [
      { name: 'oulu', adapter: 'oulu-npu', root, split: 'protocol', protocol: 'Protocol_1', frameBudget: 1 },
    ]),
  );
  expect(err).toMatchObject({ type: 'SplitLeakage', nonRetryable: true });
  expect(err.message).toContain('subject "01" of source "oulu" would be in two splits');
  expect(await db.select().from(images).where(eq(images.buildId, 'b-leak'))).toHaveLength(0);
});

test('spoof regions from Pascal VOC XML and LabelMe JSON attach to their images', async () => {
  const root = path.join(tmp, 'regions');
  for (const name of ['astronaut-01', 'hopper-01']) {
    const out = path.join(root, 'Spoof', 'Partial_Eye', `${name}.jpg`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.copyFileSync(path.join(samples, 'siw-mv2', 'Spoof', 'Partial_Eye', `${name}.jpg`), out);
  }
  const voc = path.join(tmp, 'voc', 'Spoof', 'Partial_Eye');
  fs.mkdirSync(voc, { recursive: true });
  fs.writeFileSync(
    path.join(voc, 'astronaut-01.xml'),
    '<annotation><filename>astronaut-01.jpg</filename><object><name>spoof</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>60</xmax><ymax>80</ymax></bndbox></object></annotation>',
  );
  const labelme = path.join(root, 'hopper-01.labelme.json');
  fs.writeFileSync(
    labelme,
    JSON.stringify({
      imagePath: 'Spoof/Partial_Eye/hopper-01.jpg',
      shapes: [
        {
          label: 'eye',
          points: [
            [5, 6],
            [50, 40],
          ],
          shape_type: 'rectangle',
        },
      ],
    }),
  );
  await ingest('b-voc', [{ name: 'r', adapter: 'siw-mv2', root, spoofRegions: path.join(tmp, 'voc') }]);
  await ingest('b-labelme', [{ name: 'r', adapter: 'siw-mv2', root, spoofRegions: labelme }]);
  const box = async (build: string, rel: string) =>
    (await db.select().from(images).where(eq(images.buildId, build))).find((r) => r.relPath === rel)?.spoofBox;
  expect(await box('b-voc', 'Spoof/Partial_Eye/astronaut-01.jpg')).toEqual([10, 20, 60, 80]);
  expect(await box('b-labelme', 'Spoof/Partial_Eye/hopper-01.jpg')).toEqual([5, 6, 50, 40]);
});

test('a video source without ffmpeg on PATH fails saying to install it', async () => {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const script = `
    require('tsx/cjs/api').register();
    const { catalogSources } = require(${JSON.stringify(path.resolve(__dirname, '../../../activities/files/catalog.ts'))});
    const { loadAssets } = require(${JSON.stringify(path.resolve(__dirname, '../../../config/assets.ts'))});
    const { parseBuildInput } = require(${JSON.stringify(path.resolve(__dirname, '../../../config/build-input.ts'))});
    const input = parseBuildInput({ sources: [{ name: 'o', adapter: 'oulu-npu', root: ${JSON.stringify(path.join(samples, 'oulu-npu'))} }] });
    catalogSources(input.sources, loadAssets().taxonomy).then(() => console.log('no error'), (e) => console.log(e.name + ': ' + e.message));
  `;
  const out = execFileSync(process.execPath, ['-e', script], {
    env: { ...process.env, PATH: bin },
    encoding: 'utf8',
    cwd: path.resolve(__dirname, '../../..'),
  });
  expect(out).toContain('SourceLayoutError: video sources need ffmpeg and ffprobe on PATH');
  expect(out).toContain('apt-get install -y ffmpeg');
});

test("the kept video frame is written as a decodable image of the video's size", async () => {
  const rows = await db.select().from(images).where(eq(images.buildId, 'b-video'));
  const kept = rows.find((r) => r.status === 'ok')!;
  const meta = await sharp(kept.absPath).metadata();
  expect([meta.width, meta.height, kept.width, kept.height]).toEqual([128, 150, 128, 150]);
});

// Regression: an ingest that accepted nothing returned kept 0 and the build ran every later stage
// on no image, completing with an empty export.
test('an ingest that accepts no image fails the stage, counting the rejections by reason, and records them', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'all-bad-'));
  fs.writeFileSync(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'empty2.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'notes.png'), 'not a picture\n');
  const manifest = path.join(dir, 'list.csv');
  fs.writeFileSync(
    manifest,
    ['path,label', 'empty.jpg,live', 'empty2.jpg,live', 'notes.png,print', '../outside.jpg,live'].join('\n'),
  );
  const err = await failure(ingest('b-none', [{ name: 'bad', adapter: 'manifest', root: manifest }]));
  expect(err).toMatchObject({ type: 'SourceError', nonRetryable: true });
  expect(err.message).toBe(
    `build b-none: no image accepted from "bad" (${manifest}); ` +
      'rejections by reason: empty_file 2, not_an_image 1, outside_root 1',
  );
  const rows = await db.select().from(images).where(eq(images.buildId, 'b-none'));
  expect(rows.map((r) => r.reason).sort()).toEqual(['empty_file', 'empty_file', 'not_an_image', 'outside_root']);
});

test('an ingest where one source of two accepts images goes on', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'one-bad-'));
  fs.writeFileSync(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'list.csv'), ['path,label', 'empty.jpg,live'].join('\n'));
  const counts = await ingest('b-some', [
    { name: 'bad', adapter: 'manifest', root: path.join(dir, 'list.csv') },
    { name: 'good', adapter: 'siw-mv2', root: path.join(samples, 'siw-mv2'), nearDuplicateDistance: -1 },
  ]);
  expect(counts.kept).toBeGreaterThan(0);
  expect(counts.failed).toMatchObject({ empty_file: 1 });
});
