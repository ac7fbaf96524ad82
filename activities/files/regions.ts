/**
 * Spoof-region boxes from annotation files, keyed by image path relative to the source root:
 * COCO JSON (one file), Pascal VOC XML and LabelMe JSON (one file, or a folder of them whose
 * layout mirrors the images'). Several regions on one image become the box enclosing them all.
 * Boxes are absolute corners `[x1, y1, x2, y2]` with (0,0) the top-left pixel edge.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { readCocoBoxes } from './coco';
import { SourceLayoutError, toPosix, walkFiles, type Box } from './source-entry';

export class RegionIndex {
  private byName = new Map<string, string[]>();

  constructor(readonly boxes: Map<string, Box>) {
    for (const key of boxes.keys()) {
      const name = path.posix.basename(key);
      this.byName.set(name, [...(this.byName.get(name) ?? []), key]);
    }
  }

  /** The box for an image path; a bare file name in the annotations matches when it is unique. */
  get(relPath: string): Box | undefined {
    const exact = this.boxes.get(relPath);
    if (exact) return exact;
    const keys = this.byName.get(path.posix.basename(relPath));
    return keys?.length === 1 && !keys[0]!.includes('/') ? this.boxes.get(keys[0]!) : undefined;
  }
}

export async function readSpoofRegions(target: string, sourceRoot: string): Promise<RegionIndex> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) throw new SourceLayoutError(`spoof-region annotations ${target} do not exist`);
  const boxes = new Map<string, Box>();
  const add = (key: string, box: Box) => {
    const old = boxes.get(key);
    boxes.set(
      key,
      old
        ? [Math.min(old[0], box[0]), Math.min(old[1], box[1]), Math.max(old[2], box[2]), Math.max(old[3], box[3])]
        : box,
    );
  };
  if (stat.isDirectory()) {
    for (const f of await walkFiles(target, target)) {
      if (/\.xml$/i.test(f.rel)) await readVoc(f.abs, f.rel, sourceRoot, add);
      else if (/\.json$/i.test(f.rel)) await readLabelMe(f.abs, sourceRoot, add);
    }
    return new RegionIndex(boxes);
  }
  if (/\.xml$/i.test(target)) {
    await readVoc(target, path.basename(target), sourceRoot, add);
    return new RegionIndex(boxes);
  }
  const json = await readJson(target);
  if (json && typeof json === 'object' && 'shapes' in json) {
    await readLabelMe(target, sourceRoot, add, json);
    return new RegionIndex(boxes);
  }
  return new RegionIndex(await readCocoBoxes(target));
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new SourceLayoutError(`spoof-region file ${file} is not readable JSON: ${(err as Error).message}`);
  }
}

const xml = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'object' });
const num = z.coerce.number();
const vocSchema = z.object({
  annotation: z.object({
    filename: z.string(),
    path: z.string().optional(),
    object: z.array(z.object({ bndbox: z.object({ xmin: num, ymin: num, xmax: num, ymax: num }) })).default([]),
  }),
});

/** VOC boxes are 1-based inclusive pixel indices: xmin 1 is the first pixel column. */
async function readVoc(file: string, rel: string, root: string, add: (k: string, b: Box) => void): Promise<void> {
  const parsed = vocSchema.safeParse(xml.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new SourceLayoutError(`${file} is not Pascal VOC XML: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  const a = parsed.data.annotation;
  const mirrored = toPosix(path.join(path.dirname(rel), a.filename));
  const key =
    a.path && !path.isAbsolute(a.path) ? toPosix(path.normalize(a.path)) : a.path ? relTo(root, a.path) : mirrored;
  for (const o of a.object) add(key ?? mirrored, [o.bndbox.xmin - 1, o.bndbox.ymin - 1, o.bndbox.xmax, o.bndbox.ymax]);
}

const labelMeSchema = z.object({
  imagePath: z.string(),
  shapes: z.array(z.object({ points: z.array(z.tuple([z.number(), z.number()])).min(1) })),
});

async function readLabelMe(
  file: string,
  root: string,
  add: (k: string, b: Box) => void,
  json?: unknown,
): Promise<void> {
  const parsed = labelMeSchema.safeParse(json ?? (await readJson(file)));
  if (!parsed.success) return;
  const key = relTo(root, path.resolve(path.dirname(file), parsed.data.imagePath));
  if (!key) return;
  for (const s of parsed.data.shapes) {
    const xs = s.points.map((p) => p[0]);
    const ys = s.points.map((p) => p[1]);
    add(key, [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
  }
}

function relTo(root: string, abs: string): string | undefined {
  const rel = path.relative(root, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : toPosix(rel);
}
