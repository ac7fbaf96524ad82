/**
 * Places each image in the export once, under its content hash (`images/<sha256>.<ext>`), by copy
 * or hard link. A hard link that the file system refuses (another device, no link support) falls
 * back to a copy and is counted, so the manifest can say how many were copied instead.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ExportRecord } from './records';

export class MissingImageError extends Error {
  override name = 'MissingImageError';
}

export interface PlacedImages {
  placed: number;
  linked: number;
  copied: number;
  linkFallbacks: number;
}

export class ImagePlacer {
  readonly stats: PlacedImages = { placed: 0, linked: 0, copied: 0, linkFallbacks: 0 };

  constructor(
    private readonly dir: string,
    private readonly mode: 'copy' | 'hardlink',
  ) {
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  }

  /** Returns the image's path relative to the export folder. */
  async place(r: ExportRecord): Promise<string> {
    const { absPath, contentHash, source, relPath } = r.image;
    const rel = `images/${contentHash ?? `seq-${r.image.seq}`}${path.extname(absPath).toLowerCase()}`;
    const target = path.join(this.dir, rel);
    if (fs.existsSync(target)) return rel;
    if (!fs.existsSync(absPath)) {
      throw new MissingImageError(
        `record ${r.id}: image ${source}/${relPath} is no longer at ${absPath}; restore the source files and export again`,
      );
    }
    if (this.mode === 'hardlink') {
      try {
        await fsp.link(absPath, target);
        this.stats.linked += 1;
        this.stats.placed += 1;
        return rel;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return rel;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
        this.stats.linkFallbacks += 1;
      }
    }
    await fsp.copyFile(absPath, target);
    this.stats.copied += 1;
    this.stats.placed += 1;
    return rel;
  }
}
