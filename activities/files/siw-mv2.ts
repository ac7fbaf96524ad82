/**
 * The SiW-Mv2 adapter: `Live/` plus `Spoof/<type>/`, where the folder is the native label. Files
 * are videos (sampled to frames at ingest) or images; a sub-folder of images is one video's
 * pre-extracted frames. Subject ids are the file (or frame folder) name's part before the first
 * `-`, `_` or `.`, as in SiW-Mv2's own naming.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileEntry, isDir, SourceLayoutError, walkFiles, type SourceEntry } from './source-entry';

export { SourceLayoutError } from './source-entry';

export async function listSiwMv2(root: string): Promise<SourceEntry[]> {
  if (!(await isDir(root))) throw new SourceLayoutError(`SiW-Mv2 root ${root} is not a folder`);
  const live = path.join(root, 'Live');
  const spoof = path.join(root, 'Spoof');
  const hasLive = await isDir(live);
  const hasSpoof = await isDir(spoof);
  if (!hasLive && !hasSpoof) {
    throw new SourceLayoutError(
      `SiW-Mv2 root ${root} has neither Live/ nor Spoof/; point "root" at the folder holding them`,
    );
  }
  const entries: SourceEntry[] = [];
  if (hasLive) entries.push(...(await labelFolder(root, live, 'Live')));
  if (hasSpoof) {
    for (const d of await fs.readdir(spoof, { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      if (d.isDirectory()) {
        entries.push(...(await labelFolder(root, path.join(spoof, d.name), d.name)));
      } else {
        const [found] = await walkFiles(root, spoof).then((all) => all.filter((f) => f.rel === `Spoof/${d.name}`));
        if (!found) continue;
        entries.push(
          fileEntry(found, {
            nativeCode: 'Spoof',
            subject: subjectOf(d.name),
            excluded: {
              reason: 'no_attack_type_folder',
              detail: `files directly inside Spoof/ have no attack type; move ${d.name} into Spoof/<type>/`,
            },
          }),
        );
      }
    }
  }
  return entries.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}

async function labelFolder(root: string, dir: string, nativeCode: string): Promise<SourceEntry[]> {
  const base = path.relative(root, dir).split(path.sep).join('/');
  return (await walkFiles(root, dir)).map((f) => {
    const inner = f.rel.slice(base.length + 1);
    const folder = inner.includes('/') ? inner.slice(0, inner.indexOf('/')) : undefined;
    const videoId = folder ? `${base}/${folder}` : undefined;
    return fileEntry(f, { nativeCode, subject: subjectOf(folder ?? path.basename(inner)), videoId });
  });
}

const subjectOf = (name: string) => name.split(/[-_.]/)[0] || name;
