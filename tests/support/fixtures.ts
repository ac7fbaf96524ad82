/**
 * Small image sets made at test time in SiW-Mv2's layout, with a COCO file of spoof regions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export interface FixtureSet {
  root: string;
  coco: string;
  /** image × task jobs the generation stage must produce for this set with all five tasks. */
  expectedJobs: number;
  cleanup(): void;
}

const FILES: [string, string, [number, number, number, number]?][] = [
  ['Live/alice-01.png', '#c89070'],
  ['Live/bob-01.png', '#a07050'],
  ['Spoof/Print/alice-02.png', '#d0d0ff'],
  ['Spoof/Replay/bob-02.png', '#303040'],
  ['Spoof/Partial_Eye/carol-01.png', '#90c090', [40, 50, 120, 80]],
  ['Spoof/Partial_Mouth/carol-02.png', '#c09090', [60, 120, 140, 160]],
];

export async function makeFixtureSet(extra: { corrupt?: boolean } = {}): Promise<FixtureSet> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-fixture-'));
  const coco = { images: [] as object[], annotations: [] as object[], categories: [{ id: 1, name: 'spoof_region' }] };
  let boxes = 0;
  for (const [i, [rel, colour, box]] of FILES.entries()) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A gradient keyed by index makes every image's bytes different.
    const svg = `<svg width="200" height="200" xmlns="http://www.w3.org/2000/svg"><rect width="200" height="200" fill="${colour}"/><circle cx="${60 + i * 10}" cy="90" r="40" fill="#fff" opacity="0.5"/></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(file);
    if (box) {
      coco.images.push({ id: i + 1, file_name: rel, width: 200, height: 200 });
      coco.annotations.push({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [box[0], box[1], box[2] - box[0], box[3] - box[1]] });
      boxes += 1;
    }
  }
  if (extra.corrupt) {
    fs.writeFileSync(path.join(root, 'Live', 'broken-01.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a]));
  }
  const cocoFile = path.join(root, 'regions.coco.json');
  fs.writeFileSync(cocoFile, JSON.stringify(coco));
  return {
    root,
    coco: cocoFile,
    expectedJobs: FILES.length * 4 + boxes,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
