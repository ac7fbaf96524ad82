/**
 * The SiW-Mv2 adapter: `Live/` plus `Spoof/<type>/`, where the folder is the native label.
 * It lists entries only; decoding and hashing happen at ingest. Subject ids are the file name's
 * part before the first `-` or `_`, as in SiW-Mv2's own naming.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_EXTENSIONS, VIDEO_EXTENSIONS } from '../images/inspect';

export interface SourceEntry {
  relPath: string;
  absPath: string;
  nativeLabel: string;
  subject: string;
  kind: 'image' | 'video' | 'other';
}

export async function listSiwMv2(root: string): Promise<SourceEntry[]> {
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new SourceLayoutError(`SiW-Mv2 root ${root} is not a folder`);
  const entries: SourceEntry[] = [];
  const live = path.join(root, 'Live');
  const spoof = path.join(root, 'Spoof');
  const hasLive = await isDir(live);
  const hasSpoof = await isDir(spoof);
  if (!hasLive && !hasSpoof) {
    throw new SourceLayoutError(`SiW-Mv2 root ${root} has neither Live/ nor Spoof/; point "root" at the folder holding them`);
  }
  if (hasLive) entries.push(...(await walk(root, live, 'Live')));
  if (hasSpoof) {
    for (const type of (await fs.readdir(spoof, { withFileTypes: true })).filter((d) => d.isDirectory())) {
      entries.push(...(await walk(root, path.join(spoof, type.name), type.name)));
    }
  }
  return entries.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}

async function walk(root: string, dir: string, nativeLabel: string): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!d.isFile() || d.name.startsWith('.')) continue;
    const absPath = path.join(d.parentPath, d.name);
    const ext = path.extname(d.name).toLowerCase();
    const kind = IMAGE_EXTENSIONS.has(ext) ? 'image' : VIDEO_EXTENSIONS.has(ext) ? 'video' : 'other';
    const subject = d.name.split(/[-_.]/)[0] || d.name;
    out.push({ relPath: path.relative(root, absPath).split(path.sep).join('/'), absPath, nativeLabel, subject, kind });
  }
  return out;
}

const isDir = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;

export class SourceLayoutError extends Error {
  override name = 'SourceLayoutError';
}
