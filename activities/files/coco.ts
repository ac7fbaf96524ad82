/**
 * Spoof-region boxes from a COCO annotation file, keyed by image path relative to the source
 * root. COCO boxes are `[x, y, w, h]`; fasforge keeps absolute corners `[x1, y1, x2, y2]`.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { SourceLayoutError } from './source-entry';

export type Box = [number, number, number, number];

const cocoSchema = z.object({
  images: z.array(z.object({ id: z.number(), file_name: z.string() })),
  annotations: z.array(
    z.object({ image_id: z.number(), bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]) }),
  ),
});

export async function readCocoBoxes(file: string): Promise<Map<string, Box>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new SourceLayoutError(`spoof-region file ${file} is not readable JSON: ${(err as Error).message}`);
  }
  const parsed = cocoSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SourceLayoutError(`spoof-region file ${file} is not COCO JSON: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  const names = new Map(parsed.data.images.map((i) => [i.id, i.file_name.replace(/^\.\//, '')]));
  const boxes = new Map<string, Box>();
  for (const a of parsed.data.annotations) {
    const name = names.get(a.image_id);
    if (!name) continue;
    const [x, y, w, h] = a.bbox;
    boxes.set(name, [x, y, x + w, y + h]);
  }
  return boxes;
}
