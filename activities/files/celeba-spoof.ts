/**
 * The CelebA-Spoof adapter: `Data/{train,test}/<subject>/{live,spoof}/<image>`, each image with a
 * sibling `<stem>_BB.txt` face box (`x y w h score` in a 224×224 frame, scaled to the image at
 * ingest), and label JSON files under `metas/` (any `*label*.json`) mapping image path → 44
 * integers, of which [40] is the spoof type (the native code), [41] illumination and [42]
 * environment. `split: "protocol"` takes train and test from the `Data/` folder.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  fileEntry,
  isDir,
  SourceLayoutError,
  walkFiles,
  type Box,
  type ResolvedSource,
  type SourceEntry,
} from './source-entry';

const ILLUMINATION = ['live', 'normal', 'strong', 'back', 'dark'];
const ENVIRONMENT = ['live', 'indoor', 'outdoor'];

export async function listCelebaSpoof(source: ResolvedSource): Promise<SourceEntry[]> {
  const { root } = source;
  const data = path.join(root, 'Data');
  if (!(await isDir(data))) {
    throw new SourceLayoutError(
      `CelebA-Spoof root ${root} has no Data/ folder; point "root" at the folder holding Data/ and metas/`,
    );
  }
  const labels = await readLabels(root);
  const files = await walkFiles(root, data);
  const boxes = new Map(
    files.filter((f) => f.rel.endsWith('_BB.txt') && !f.refused).map((f) => [f.rel.slice(0, -'_BB.txt'.length), f]),
  );
  const entries: SourceEntry[] = [];
  for (const f of files) {
    if (f.rel.endsWith('_BB.txt')) continue;
    const parts = f.rel.split('/');
    const [, group, subject, liveness] = parts;
    const stemRel = f.rel.replace(/\.[^./]+$/, '');
    const label = labels.get(f.rel);
    const bb = boxes.get(stemRel);
    const faceBox = bb ? await readBox(bb.abs) : undefined;
    const metadata: Record<string, unknown> = { group, folder: liveness };
    if (label) {
      metadata.illumination = ILLUMINATION[label[41] ?? -1] ?? label[41];
      metadata.environment = ENVIRONMENT[label[42] ?? -1] ?? label[42];
      metadata.faceAttributes = label.slice(0, 40);
    }
    const folderSaysLive = liveness === 'live';
    const entry = fileEntry(f, {
      nativeCode: label ? String(label[40]) : 'unlabelled',
      subject: subject ?? null,
      metadata,
      faceBox,
      faceBoxFrame: faceBox ? { width: 224, height: 224 } : undefined,
      protocolSplit: group === 'train' ? 'train' : group === 'test' ? 'test' : undefined,
    });
    if (!entry.excluded && entry.kind === 'image') {
      if (!label)
        entry.excluded = { reason: 'not_in_label_json', detail: `${f.rel} has no entry in the metas/ label JSON` };
      else if ((label[40] === 0) !== folderSaysLive || (label[43] === 0) !== folderSaysLive) {
        entry.excluded = {
          reason: 'label_disagrees_with_folder',
          detail: `${f.rel}: spoof type ${label[40]}, live/spoof flag ${label[43]}, but the folder is ${liveness}`,
        };
      }
    }
    entries.push(entry);
  }
  return entries;
}

async function readLabels(root: string): Promise<Map<string, number[]>> {
  const metas = path.join(root, 'metas');
  const files = (await isDir(metas))
    ? (await walkFiles(root, metas)).filter((f) => !f.refused && /label[^/]*\.json$/i.test(f.rel))
    : [];
  if (files.length === 0) {
    throw new SourceLayoutError(
      `CelebA-Spoof root ${root} has no label JSON under metas/ (e.g. metas/intra_test/train_label.json)`,
    );
  }
  const out = new Map<string, number[]>();
  for (const f of files) {
    let json: Record<string, number[]>;
    try {
      json = JSON.parse(await fs.readFile(f.abs, 'utf8'));
    } catch (err) {
      throw new SourceLayoutError(`CelebA-Spoof label file ${f.abs} is not JSON: ${(err as Error).message}`);
    }
    for (const [k, v] of Object.entries(json)) {
      if (Array.isArray(v) && v.length >= 44) out.set(k.replace(/^\.?\//, ''), v);
    }
  }
  return out;
}

/** `x y w h score` → corners in the 224 frame. */
async function readBox(file: string): Promise<Box | undefined> {
  const nums = (await fs.readFile(file, 'utf8')).trim().split(/\s+/).map(Number);
  const [x, y, w, h] = nums;
  if (nums.length < 4 || [x, y, w, h].some((v) => !Number.isFinite(v)) || w! <= 0 || h! <= 0) return undefined;
  return [x!, y!, x! + w!, y! + h!];
}
