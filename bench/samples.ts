/**
 * Source images for benchmarks: `n` copies of the bundled SiW-Mv2 samples in the same layout, each
 * with its own subject name and its own bytes (an EXIF note), so that no request is a cache hit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../config/env';

export async function copySamples(n: number, prefix: string): Promise<string> {
  const src = path.join(projectRoot, 'samples', 'siw-mv2');
  const files = fs
    .readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.jpg'));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  for (let i = 0; i < n; i++) {
    const f = files[i % files.length]!;
    const rel = path.relative(src, path.join(f.parentPath, f.name));
    const target = path.join(root, path.dirname(rel), `${path.basename(rel, '.jpg').replace('-', `x${i}-`)}.jpg`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    await sharp(path.join(src, rel))
      .withExif({ IFD0: { ImageDescription: `bench copy ${i}` } })
      .jpeg({ quality: 85 })
      .toFile(target);
  }
  return root;
}
