/**
 * `npm run bench:ingest -- --images 10000`: cataloguing of N generated JPEGs (256×256, each a
 * different random block pattern, in SiW-Mv2's layout), side by side with a baseline that only
 * lists, reads and sha256-hashes the same files. The full run is what ingest does before writing:
 * listing, hygiene (header checks, full decode), content hash, perceptual hash, duplicate search,
 * taxonomy and splits. Prints images per second for both, their ratio, and peak RSS after each;
 * the last line is one JSON object.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { catalogSources } from '../activities/files/catalog';
import { listSiwMv2 } from '../activities/files/siw-mv2';
import { loadAssets } from '../config/assets';
import { parseBuildInput } from '../config/build-input';

const { values } = parseArgs({ options: { images: { type: 'string', default: '10000' } } });
const count = Number(values.images);
if (!Number.isInteger(count) || count < 1) throw new Error('--images must be a positive integer');

const FOLDERS = ['Live', 'Spoof/Print', 'Spoof/Replay', 'Spoof/Partial_Eye'];

/** A seeded generator, so two runs write the same images. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function generate(root: string, n: number): Promise<void> {
  const next = prng(42);
  for (let i = 0; i < n; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async (_, k) => {
        const id = i + k;
        const blocks = Buffer.from(Array.from({ length: 8 * 8 * 3 }, () => Math.floor(next() * 256)));
        const file = path.join(root, FOLDERS[id % FOLDERS.length]!, `s${Math.floor(id / 40)}-${id}.jpg`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await sharp(blocks, { raw: { width: 8, height: 8, channels: 3 } })
          .resize(256, 256, { kernel: 'cubic' })
          .jpeg({ quality: 85 })
          .toFile(file);
      }),
    );
  }
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-bench-ingest-'));
  try {
    const t0 = performance.now();
    await generate(root, count);
    console.log(`generated ${count} images in ${((performance.now() - t0) / 1000).toFixed(1)} s under ${root}`);

    const b0 = performance.now();
    const entries = await listSiwMv2(root);
    for (const e of entries) createHash('sha256').update(fs.readFileSync(e.file!)).digest('hex');
    const baseSec = (performance.now() - b0) / 1000;
    const baseRss = peakRssMb();

    const input = parseBuildInput({ sources: [{ name: 'bench', adapter: 'siw-mv2', root }] });
    const c0 = performance.now();
    const rows = await catalogSources(input.sources, loadAssets().taxonomy);
    const fullSec = (performance.now() - c0) / 1000;
    const fullRss = peakRssMb();
    const accepted = rows.filter((r) => r.status === 'ok').length;

    const rate = (sec: number) => Math.round(entries.length / sec);
    console.log(
      `list + read + sha256 only:        ${entries.length} images in ${baseSec.toFixed(1)} s, ${rate(baseSec)} images/s, peak RSS ${baseRss} MB`,
    );
    console.log(
      `catalogue (hygiene, hashes, dedup): ${rows.length} images in ${fullSec.toFixed(1)} s, ${rate(fullSec)} images/s, peak RSS ${fullRss} MB`,
    );
    console.log(`accepted ${accepted}; catalogue / baseline throughput ratio ${(baseSec / fullSec).toFixed(3)}`);
    console.log(
      JSON.stringify({
        images: count,
        baseline: { seconds: +baseSec.toFixed(2), imagesPerSecond: rate(baseSec), peakRssMb: baseRss },
        catalogue: { seconds: +fullSec.toFixed(2), imagesPerSecond: rate(fullSec), peakRssMb: fullRss, accepted },
        ratio: +(baseSec / fullSec).toFixed(3),
      }),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
