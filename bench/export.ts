/**
 * `npm run bench:export -- --records 5000`: the export of a simulated build, at N records and,
 * side by side, at N/10. Each build is written straight into a fresh database (images as real PNG
 * files, records, verdicts, CLIP scores, review decisions; no model and no Temporal), then a
 * separate process exports it with every format and reports records per second and its peak
 * memory (resident set sampled every 10 ms, worker threads included). The ratio of the two peaks
 * shows whether memory grows with the dataset. The last line is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { Client as PgClient } from 'pg';
import { createBenchDatabase, LOCAL_ADMIN_URL } from './database';
import { exportBuild } from '../activities/files/export';
import { loadAssets } from '../config/assets';
import { parseEnv } from '../config/env';
import { openDatabase, queryRows } from '../db/client';
import { seedSyntheticBuild, type SyntheticBuild } from '../tests/support/synthetic-build';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '5000' },
    child: { type: 'string' },
    'heap-mb': { type: 'string' },
  },
});

/** Exported records per image in the simulated build (five tasks, augmentation, filter drops). */
const RECORDS_PER_IMAGE = 4.9;

async function child(spec: string): Promise<void> {
  const { url, build } = JSON.parse(spec) as { url: string; build: SyntheticBuild };
  const database = await openDatabase({ url, embeddedDir: '' });
  const assets = loadAssets();
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 10);
  const t0 = performance.now();
  const out = await exportBuild(database.db, assets, build.input);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  await database.close();
  const records = out.counts.pretrain + out.counts.sft;
  console.log(JSON.stringify({ records, seconds, baselineRss: baseline, peakRss: peak, peakHeap }));
}

interface ChildResult {
  records: number;
  seconds: number;
  baselineRss: number;
  peakRss: number;
  peakHeap: number;
}

const mb = (b: number) => Math.round(b / 1e5) / 10;

/** Seeds a build of about `records` exportable records and exports it in a fresh process. */
async function measure(url: string, root: string, records: number) {
  const database = await openDatabase({ url, embeddedDir: '' });
  const t0 = performance.now();
  const build = await seedSyntheticBuild(database.db, {
    buildId: `bench-export-${records}`,
    root: path.join(root, `source-${records}`),
    imageCount: Math.ceil(records / RECORDS_PER_IMAGE),
    exportDir: path.join(root, `export-${records}`),
  });
  const [row] = await queryRows<{ n: string }>(
    database.db,
    sql`select count(*) as n from records where build_id = ${build.buildId} and status = 'active'`,
  );
  await database.close();
  console.log(
    `simulated build: ${build.imageCount} images, ${row?.n} exportable records in ${secs(performance.now() - t0)} s`,
  );

  const stdout = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      ...(values['heap-mb'] ? [`--max-old-space-size=${Number(values['heap-mb'])}`] : []),
      '--import',
      'tsx',
      __filename,
      '--child',
      JSON.stringify({ url, build }),
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
  const dir = build.input.prepared.exportDir;
  const bytes = Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  fs.rmSync(dir, { recursive: true, force: true });
  const result = {
    records: r.records,
    seconds: Math.round(r.seconds * 10) / 10,
    recordsPerSecond: Math.round(r.records / r.seconds),
    peakRssMb: mb(r.peakRss),
    rssBeforeExportMb: mb(r.baselineRss),
    peakHeapMb: mb(r.peakHeap),
    exportMb: mb(bytes),
  };
  console.log(
    `export: ${result.records} records in ${result.seconds} s, ${result.recordsPerSecond} records/s; ` +
      `peak memory ${result.peakRssMb} MB (${result.rssBeforeExportMb} MB before the export began); ` +
      `peak heap ${result.peakHeapMb} MB; export folder ${result.exportMb} MB`,
  );
  return result;
}

async function main(): Promise<void> {
  const target = Number(values.records);
  if (!Number.isInteger(target) || target < 10) throw new Error('--records must be an integer of at least 10');
  const env = parseEnv();
  const admin = env.databaseUrl ?? LOCAL_ADMIN_URL;
  const name = `fasforge_bench_export_${process.pid}`;
  const url = new URL(await createBenchDatabase(name, admin));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-bench-export-'));
  try {
    // The same export at a tenth of the size, side by side: memory must not grow with the dataset.
    const small = await measure(url.toString(), root, Math.round(target / 10));
    const large = await measure(url.toString(), root, target);
    const ratio = Math.round((large.peakRssMb / small.peakRssMb) * 100) / 100;
    console.log(
      `peak memory at ${large.records} records / at ${small.records} records: ${ratio} ` +
        `(${large.peakRssMb} MB / ${small.peakRssMb} MB); records/s ${large.recordsPerSecond} and ${small.recordsPerSecond}`,
    );
    console.log(JSON.stringify({ large, small, peakMemoryRatio: ratio }));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    const c = new PgClient({ connectionString: admin });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  }
}

const secs = (ms: number) => Math.round(ms / 100) / 10;

(values.child ? child(values.child) : main()).catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
