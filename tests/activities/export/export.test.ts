/**
 * The export over a simulated build in a real PostgreSQL database: every format read back with
 * the LLaVA reader and hyparquet, images under their content hashes, no absolute path anywhere,
 * the manifest and its version id, box notations, and a card whose numbers are the database's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { readFunnel } from '../../../activities/database/funnel';
import { exportBuild, reexportBuild } from '../../../activities/files/export';
import { loadAssets } from '../../../config/assets';
import { queryRows, type Db } from '../../../db/client';
import { createTestDatabase } from '../../support/env';
import { expectFunnelAddsUp } from '../../support/funnel';
import { readLlava, readLlavaJsonl } from '../../support/llava';
import { readParquet } from '../../support/parquet';
import { ROW_GROUP_ROWS } from '../../../activities/export/sinks';
import { seedSyntheticBuild, type SyntheticBuild } from '../../support/synthetic-build';

jest.setTimeout(180_000);

const assets = loadAssets();
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let tmp: string;
let build: SyntheticBuild;
let dir: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-export-test-'));
  dir = path.join(tmp, 'export');
  // 340 images make about 1,650 records: the SFT train file spans more than one Parquet row group.
  build = await seedSyntheticBuild(db, {
    buildId: 'export-test',
    root: path.join(tmp, 'source'),
    imageCount: 340,
    exportDir: dir,
  });
  await exportBuild(db, assets, build.input);
});

afterAll(async () => {
  await testDb?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface DbRecord {
  id: string;
  set: string;
  task: string;
  split: string;
  class: string;
  content_hash: string;
  abs_path: string;
  answer: string;
  box: number[] | null;
  width: number;
  height: number;
}

const exported = () =>
  queryRows<DbRecord>(
    db,
    sql`select r.id, r.set, r.task, i.split, i.class_name as class, i.content_hash, i.abs_path, r.answer, r.box, i.width, i.height
          from records r join images i on i.seq = r.image_seq
         where r.build_id = ${build.buildId} and r.status = 'active' order by r.seq`,
  );

const walk = (root: string): string[] =>
  fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();

const readJsonl = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('writes LLaVA JSON and JSONL that the LLaVA reader accepts, with every exported record and its image', async () => {
  const rows = await exported();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const pretrain = readLlava(dir, 'pretrain.json');
  const sft = readLlava(dir, 'sft.json');
  expect(pretrain.map((r) => r.id).sort()).toEqual(
    rows
      .filter((r) => r.set === 'pretrain')
      .map((r) => r.id)
      .sort(),
  );
  expect(sft.map((r) => r.id).sort()).toEqual(
    rows
      .filter((r) => r.set === 'sft')
      .map((r) => r.id)
      .sort(),
  );
  expect(readLlavaJsonl(dir, 'llava-jsonl/sft.jsonl')).toEqual(sft);
  expect(readLlavaJsonl(dir, 'llava-jsonl/pretrain.jsonl')).toEqual(pretrain);
  for (const r of [...pretrain, ...sft]) {
    const db = byId.get(r.id)!;
    // The image sits under its content hash and holds the source's bytes.
    expect(r.image).toBe(`images/${db.content_hash}.png`);
    const bytes = fs.readFileSync(path.join(dir, r.image));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(db.content_hash);
    expect(r.conversations[1]!.value).toBe(db.answer);
  }
});

test('writes per-split and per-task files whose records carry that split and task, and whose union is the set', async () => {
  const byId = new Map((await exported()).map((r) => [r.id, r]));
  for (const set of ['pretrain', 'sft']) {
    const whole = readLlava(dir, `${set}.json`)
      .map((r) => r.id)
      .sort();
    const fromSplits: string[] = [];
    for (const split of ['train', 'val', 'test']) {
      const part = readLlava(dir, `llava/${set}-${split}.json`);
      expect(part.length).toBeGreaterThan(0);
      for (const r of part) expect({ id: r.id, split: byId.get(r.id)!.split }).toEqual({ id: r.id, split });
      fromSplits.push(...part.map((r) => r.id));
    }
    expect(fromSplits.sort()).toEqual(whole);
  }
  const fromTasks: string[] = [];
  for (const task of ['coarse', 'fine', 'reasoning', 'localization']) {
    const part = readLlava(dir, `llava/${task}.json`);
    expect(part.length).toBeGreaterThan(0);
    for (const r of part) expect(byId.get(r.id)!.task).toBe(task);
    fromTasks.push(...part.map((r) => r.id));
  }
  expect(fromTasks.sort()).toEqual(
    readLlava(dir, 'sft.json')
      .map((r) => r.id)
      .sort(),
  );
});

test('writes ShareGPT-style JSON with the same conversations and an images list', () => {
  const llava = readLlava(dir, 'sft.json');
  const share = JSON.parse(fs.readFileSync(path.join(dir, 'sharegpt', 'sft.json'), 'utf8')) as {
    id: string;
    conversations: unknown[];
    images: string[];
  }[];
  expect(
    share.map((s) => ({ id: s.id, conversations: s.conversations, image: s.images[0], n: s.images.length })),
  ).toEqual(llava.map((l) => ({ id: l.id, conversations: l.conversations, image: l.image, n: 1 })));
});

test('writes Hugging Face JSONL and Parquet per config and split that hyparquet reads back row for row', async () => {
  const rows = await exported();
  const byId = new Map(rows.map((r) => [r.id, r]));
  let total = 0;
  let multiGroup = false;
  for (const config of ['pretrain', 'sft', 'coarse', 'fine', 'reasoning', 'localization']) {
    for (const split of ['train', 'val', 'test']) {
      const jsonl = readJsonl(path.join(dir, 'hf', 'jsonl', config, `${split}.jsonl`));
      const pq = await readParquet(path.join(dir, 'hf', 'parquet', config, `${split}.parquet`));
      expect(pq.numRows).toBe(jsonl.length);
      expect(pq.rows).toEqual(jsonl);
      // Written a row group at a time, as records stream past.
      expect(pq.rowGroups).toBe(Math.max(1, Math.ceil(jsonl.length / ROW_GROUP_ROWS)));
      multiGroup ||= pq.rowGroups > 1;
      for (const row of pq.rows) {
        const db = byId.get(row.id as string)!;
        expect({ split: row.split, task: row.task, class: row.class, image: row.image }).toEqual({
          split,
          task: db.task,
          class: db.class,
          image: `images/${db.content_hash}.png`,
        });
        if (config === 'pretrain' || config === 'sft') total += 1;
      }
    }
  }
  expect(total).toBe(rows.length);
  expect(multiGroup).toBe(true);
});

test('writes no absolute path of the building machine into any file of the export', () => {
  const needles = [build.root, dir, tmp, `/${path.basename(tmp)}`, os.tmpdir() + path.sep];
  for (const rel of walk(dir)) {
    const text = fs.readFileSync(path.join(dir, rel), 'latin1');
    for (const n of needles)
      expect({ file: rel, found: text.includes(n) ? n : null }).toEqual({ file: rel, found: null });
  }
});

test('lists every file in the manifest with its size and sha256, and a re-export from the database reproduces the version id', async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const files = walk(dir).filter((f) => f !== 'manifest.json');
  expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(files);
  for (const f of manifest.files as { path: string; size: number; sha256: string }[]) {
    const bytes = fs.readFileSync(path.join(dir, f.path));
    expect({ path: f.path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual(f);
  }
  expect(manifest.datasetVersion).toMatch(/^ds-[0-9a-f]{20}$/);
  expect(manifest.versions).toMatchObject({
    taxonomy: assets.taxonomy.version,
    prompts: assets.prompts.version,
    promptVersions: ['prompts-v1'],
  });
  expect(manifest.models.vision).toEqual({ requested: 'vision-model', served: ['synthetic/vision'] });
  expect(manifest.code).toMatchObject({ package: 'fasforge', version: expect.any(String) });
  expect(manifest.config.sources[0]).toMatchObject({ name: 'syn', root: '<local path>' });

  const again = await reexportBuild(db, assets, build.buildId, { dir: path.join(tmp, 'again') });
  expect(again.datasetVersion).toBe(manifest.datasetVersion);
  const [row] = await queryRows<{ version_id: string }>(
    db,
    sql`select version_id from build_exports where build_id = ${build.buildId}`,
  );
  expect(row!.version_id).toBe(manifest.datasetVersion);
  const other = await reexportBuild(db, assets, build.buildId, {
    dir: path.join(tmp, 'again'),
    options: { boxFormat: 'norm1' },
  });
  expect(other.datasetVersion).not.toBe(manifest.datasetVersion);
});

test('renders boxes as absolute floats by default and normalised to 0–1000 or 0–1 on request', async () => {
  const loc = (await exported()).filter((r) => r.task === 'localization');
  expect(loc.length).toBeGreaterThan(0);
  const read = (d: string) =>
    new Map(readJsonl(path.join(d, 'hf', 'jsonl', 'localization', 'train.jsonl')).map((r) => [r.id, r]));
  const abs = read(dir);
  for (const [norm, scale, digits] of [
    ['norm1000', 1000, 0],
    ['norm1', 1, 4],
  ] as const) {
    const out = path.join(tmp, norm);
    await reexportBuild(db, assets, build.buildId, {
      dir: out,
      options: { boxFormat: norm, formats: ['hf-jsonl', 'llava-json'] },
    });
    const rows = read(out);
    const llava = new Map(readLlava(out, 'llava/localization.json').map((r) => [r.id, r]));
    for (const r of loc.filter((l) => abs.has(l.id))) {
      expect(abs.get(r.id)!.box).toEqual(r.box);
      expect(abs.get(r.id)!.answer).toBe(r.answer);
      const want = r.box!.map(
        (v, i) => Math.round((v / (i % 2 ? r.height : r.width)) * scale * 10 ** digits) / 10 ** digits,
      );
      expect(rows.get(r.id)!.box).toEqual(want);
      expect(rows.get(r.id)!.box_format).toBe(norm);
      const text = `[${want.map((v) => v.toFixed(digits)).join(', ')}]`;
      expect(rows.get(r.id)!.answer).toContain(text);
      expect(llava.get(r.id)!.conversations[1]!.value).toContain(text);
    }
  }
});

test('hard-links the images into the export when asked', async () => {
  const out = path.join(tmp, 'linked');
  await reexportBuild(db, assets, build.buildId, {
    dir: out,
    options: { images: 'hardlink', formats: ['llava-json'] },
  });
  const [first] = await exported();
  const linked = fs.statSync(path.join(out, 'images', `${first!.content_hash}.png`));
  expect(linked.ino).toBe(fs.statSync(first!.abs_path).ino);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  expect(manifest.images.linked).toBe(manifest.images.placed);
  expect(fs.existsSync(path.join(out, 'sharegpt'))).toBe(false);
});

test('refuses an export folder that holds other files, and leaves it untouched', async () => {
  const out = path.join(tmp, 'occupied');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
  await expect(
    exportBuild(db, assets, { ...build.input, prepared: { ...build.input.prepared, exportDir: out } }),
  ).rejects.toMatchObject({
    type: 'ExportError',
    nonRetryable: true,
    message: expect.stringMatching(/not empty and holds no earlier export/),
  });
  expect(fs.readdirSync(out)).toEqual(['notes.txt']);
});

test('fails without retrying when a source image has gone, naming it, and keeps the earlier export', async () => {
  const [first] = await exported();
  const moved = `${first!.abs_path}.away`;
  fs.renameSync(first!.abs_path, moved);
  try {
    await expect(reexportBuild(db, assets, build.buildId, { dir })).rejects.toMatchObject({
      type: 'ExportError',
      nonRetryable: true,
      message: expect.stringContaining(`is no longer at ${first!.abs_path}`),
    });
  } finally {
    fs.renameSync(moved, first!.abs_path);
  }
  expect(fs.existsSync(`${dir}.partial`)).toBe(false);
  expect(readLlava(dir, 'sft.json').length).toBeGreaterThan(0);
});

test('refuses to re-export a build that never reached export, saying why', async () => {
  await db.execute(sql`insert into builds (id, config) values ('unfinished', '{}'::jsonb)`);
  await expect(reexportBuild(db, assets, 'unfinished', { dir: path.join(tmp, 'x') })).rejects.toThrow(
    /has not reached export yet/,
  );
  await expect(reexportBuild(db, assets, 'no-such-build', { dir: path.join(tmp, 'x') })).rejects.toThrow(
    /no build no-such-build/,
  );
});

/** The rows of the markdown table under `heading`, as arrays of cell texts. */
function table(card: string, heading: string, nth = 0): string[][] {
  const section = card.split(`\n## ${heading}\n`)[1]!.split('\n## ')[0]!;
  const tables = section.split('\n\n').filter((b) => b.trim().startsWith('|'));
  return tables[nth]!.trim()
    .split('\n')
    .slice(2)
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

const percentile = (sorted: number[], p: number) => {
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo);
};

test("the card's counts, funnel, CLIP scores, review statistics and licences equal the database's", async () => {
  const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  expect(card).toContain(build.buildId);

  const cells = await queryRows<{ class: string; task: string; split: string; n: string }>(
    db,
    sql`select i.class_name as class, r.task, i.split, count(*) as n from records r join images i on i.seq = r.image_seq
         where r.build_id = ${build.buildId} and r.status = 'active' group by 1, 2, 3`,
  );
  const fromCard = table(card, 'Records per class, task and split');
  const totalRow = fromCard.pop()!;
  const want: Record<string, number> = {};
  for (const c of cells) want[`${c.class}/${c.task}/${c.split}`] = Number(c.n);
  const got: Record<string, number> = {};
  for (const [cls, task, train, val, test] of fromCard) {
    for (const [split, n] of [
      ['train', train],
      ['val', val],
      ['test', test],
    ] as const)
      if (Number(n)) got[`${cls}/${task}/${split}`] = Number(n);
  }
  expect(got).toEqual(want);
  expect(totalRow[5]).toBe(`**${cells.reduce((s, c) => s + Number(c.n), 0)}**`);

  const funnel = await readFunnel(db, build.buildId);
  expectFunnelAddsUp(funnel);
  const funnelRows = table(card, 'Funnel');
  for (const s of funnel) {
    const row = funnelRows.find((r) => r[0] === s.stage)!;
    expect(row.slice(1, 3).map(Number)).toEqual([s.in, s.kept]);
    for (const [reason, n] of Object.entries(s.dropped)) expect(row[3]).toContain(`${reason}: ${n}`);
  }
  const [clipDropped] = await queryRows<{ n: string }>(
    db,
    sql`select count(*) as n from records where build_id = ${build.buildId} and reason = 'clip_below_threshold'`,
  );
  expect(funnelRows.find((r) => r[0] === 'clip_filter')![3]).toBe(`clip_below_threshold: ${clipDropped!.n}`);

  const scores = await queryRows<{ class: string; clip_score: number; status: string }>(
    db,
    sql`select i.class_name as class, r.clip_score, r.status from records r join images i on i.seq = r.image_seq
         where r.build_id = ${build.buildId} and r.clip_score is not null`,
  );
  const clipRows = table(card, 'CLIP scores');
  const classes = [...new Set(scores.map((s) => s.class))].sort();
  expect(clipRows.map((r) => r[0])).toEqual(classes);
  for (const row of clipRows) {
    const mine = scores.filter((s) => s.class === row[0]);
    const sorted = mine.map((s) => s.clip_score).sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    expect(row.slice(1)).toEqual([
      String(mine.length),
      String(mine.filter((s) => s.status === 'active').length),
      String(mine.filter((s) => s.status === 'dropped').length),
      ...[
        sorted[0]!,
        percentile(sorted, 0.25),
        percentile(sorted, 0.5),
        percentile(sorted, 0.75),
        sorted.at(-1)!,
        mean,
      ].map((v) => v.toFixed(4)),
      (0.15).toFixed(4),
    ]);
  }

  const decisions = await queryRows<{ decision: string; reviewer: string; n: string }>(
    db,
    sql`select decision, reviewer, count(*) as n from review_decisions where build_id = ${build.buildId} group by 1, 2 order by 1, 2`,
  );
  expect(decisions.length).toBeGreaterThan(1);
  expect(table(card, 'Review')).toEqual(decisions.map((d) => [d.decision, d.reviewer, d.n]));
  expect(card).toContain('Released by **ana**');

  const [src] = await queryRows<{ images: string; records: string }>(
    db,
    sql`select count(distinct i.seq) as images, count(*) as records from records r join images i on i.seq = r.image_seq
         where r.build_id = ${build.buildId} and r.status = 'active'`,
  );
  expect(table(card, 'Sources and licences')).toEqual([
    ['syn', 'siw-mv2', 'Synthetic test licence', src!.images, src!.records],
  ]);
});

test('the card front matter names a Hugging Face config per set and task, pointing at files that exist', () => {
  const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const front = card.split('\n---\n')[0]!;
  const configs = JSON.parse(/^configs: (.*)$/m.exec(front)![1]!) as {
    config_name: string;
    data_files: { split: string; path: string }[];
  }[];
  expect(configs.map((c) => c.config_name).sort()).toEqual([
    'coarse',
    'fine',
    'localization',
    'pretrain',
    'reasoning',
    'sft',
  ]);
  for (const c of configs) for (const f of c.data_files) expect(fs.existsSync(path.join(dir, f.path))).toBe(true);
});

test('the charts are valid SVG with drawn marks, rendered by vega', () => {
  const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const charts = fs.readdirSync(path.join(dir, 'charts')).sort();
  expect(charts).toEqual(['clip-scores.svg', 'counts.svg', 'funnel.svg']);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
  for (const file of charts) {
    expect(card).toContain(`(charts/${file})`);
    const svg = fs.readFileSync(path.join(dir, 'charts', file), 'utf8');
    expect({ file, valid: XMLValidator.validate(svg) }).toEqual({ file, valid: true });
    const doc = parser.parse(svg) as { svg: unknown };
    const marks: unknown[] = [];
    const visit = (node: unknown, inMark: boolean) => {
      if (Array.isArray(node)) return node.forEach((n) => visit(n, inMark));
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      const mark =
        inMark || (typeof n.class === 'string' && /\bmark-(rect|rule)\b/.test(n.class) && /role-mark/.test(n.class));
      for (const [k, v] of Object.entries(n)) {
        if (k === 'path' && mark) marks.push(...(Array.isArray(v) ? v : [v]).filter((p) => (p as { d?: string }).d));
        visit(v, mark);
      }
    };
    visit(doc.svg, false);
    expect({ file, marks: marks.length > 0 }).toEqual({ file, marks: true });
  }
});

test('the summary reports counts by set, class, task and split that match the files', () => {
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  const sft = readLlava(dir, 'sft.json');
  expect(summary.counts.sft.total).toBe(sft.length);
  expect(summary.datasetVersion).toBe(
    JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).datasetVersion,
  );
  const splits = ['train', 'val', 'test'].map((s) => readLlava(dir, `llava/sft-${s}.json`).length);
  expect([summary.counts.sft.bySplit.train, summary.counts.sft.bySplit.val, summary.counts.sft.bySplit.test]).toEqual(
    splits,
  );
});
