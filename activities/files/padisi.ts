/**
 * The PADISI-Face adapter: the ground-truth CSV (`*_ground_truth.csv`: transaction_id, trial_id,
 * trial_name, modality, ground_truth, participant_id, gender, ethnicity, race, age) plus one
 * `<transaction_id>.npz` per sample anywhere under the root, whose array's first three channels
 * are BGR colour in 0–1 floats. The native code is `m00000` (bona fide) or `m5<PAI>` from
 * `m5<PAI:2><species:2>`. The fold CSVs (`*_3folds_part{0,1,2}.csv`, `partition_name`) and the
 * free-text descriptions (`*_descriptions.csv`, `des0`…`des4`) are kept as metadata; with
 * `split: "protocol"`, `protocol: "part0"` (or 1, 2) takes the splits from that fold.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { readNpz, type NpyArray } from './npz';
import { isDir, SourceLayoutError, walkFiles, type ResolvedSource, type SourceEntry, type Split } from './source-entry';

type Row = Record<string, string>;
const PARTITIONS: Record<string, Split> = { train: 'train', valid: 'val', val: 'val', test: 'test' };

export async function listPadisi(source: ResolvedSource): Promise<SourceEntry[]> {
  const { root } = source;
  if (!(await isDir(root))) throw new SourceLayoutError(`PADISI-Face root ${root} is not a folder`);
  const files = await walkFiles(root, root);
  // CSVs behind a symlink that leads out of the root are not read.
  const aux = files.filter((f) => !f.refused);
  const truthFile = aux.find((f) => /ground_truth\.csv$/i.test(f.rel));
  if (!truthFile) {
    throw new SourceLayoutError(
      `PADISI-Face root ${root} has no *_ground_truth.csv; point "root" at the release folder`,
    );
  }
  const truth = await readCsv(truthFile.abs);
  const descriptions = new Map<string, string[]>();
  const descFile = aux.find((f) => /descriptions\.csv$/i.test(f.rel));
  for (const r of descFile ? await readCsv(descFile.abs) : []) {
    const texts = Object.keys(r)
      .filter((k) => /^des\d+$/.test(k))
      .sort()
      .map((k) => r[k]!)
      .filter(Boolean);
    descriptions.set(idOf(r), texts);
  }
  const folds = new Map<string, Map<string, Split>>();
  for (const f of aux) {
    const m = /_3folds_part(\d+)\.csv$/i.exec(f.rel);
    if (!m) continue;
    const fold = new Map<string, Split>();
    for (const r of await readCsv(f.abs)) {
      const split = PARTITIONS[(r.partition_name ?? '').toLowerCase()];
      if (split) fold.set(idOf(r), split);
    }
    folds.set(`part${m[1]}`, fold);
  }
  let protocol: Map<string, Split> | undefined;
  if (source.split === 'protocol') {
    const name = (source.protocol ?? '').replace(/^(fold|part)?/, 'part');
    protocol = folds.get(name);
    if (!protocol) {
      throw new SourceLayoutError(
        `PADISI-Face protocol "${source.protocol ?? ''}" not found; folds present: ${[...folds.keys()].join(', ') || 'none'}`,
      );
    }
  }

  const npz = new Map(files.filter((f) => /\.npz$/i.test(f.rel)).map((f) => [path.basename(f.rel, '.npz'), f]));
  const entries: SourceEntry[] = [];
  const used = new Set<string>();
  for (const r of truth) {
    const id = idOf(r);
    const gt = (r.ground_truth ?? '').trim();
    const nativeCode = /^m5\d{4}$/.test(gt) ? gt.slice(0, 4) : gt;
    const metadata: Record<string, unknown> = { ...r, descriptions: descriptions.get(id) ?? [] };
    for (const [name, fold] of folds) metadata[name] = fold.get(id) ?? null;
    const f = npz.get(id);
    const base = { kind: 'image' as const, nativeCode, subject: r.participant_id || null, metadata };
    if (!f) {
      entries.push({
        ...base,
        relPath: `${path.basename(truthFile.rel)}#${id}`,
        excluded: { reason: 'missing_sample_file', detail: `no ${id}.npz under ${root}` },
      });
      continue;
    }
    used.add(id);
    entries.push({
      ...base,
      relPath: f.rel,
      file: f.abs,
      protocolSplit: protocol?.get(id),
      excluded: f.refused,
      load: async () => colourPng(readNpz(await fs.readFile(f.abs)), f.rel),
    });
  }
  for (const [id, f] of npz) {
    if (used.has(id)) continue;
    const detail = `${f.rel} has no row in ${path.basename(truthFile.rel)}`;
    entries.push({
      relPath: f.rel,
      file: f.abs,
      kind: 'image',
      nativeCode: 'unknown',
      subject: null,
      excluded: { reason: 'not_in_ground_truth', detail },
    });
  }
  return entries.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}

async function readCsv(file: string): Promise<Row[]> {
  try {
    return parse(await fs.readFile(file, 'utf8'), { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new SourceLayoutError(`PADISI-Face file ${file} is not valid CSV: ${(err as Error).message}`);
  }
}

const idOf = (r: Row) => (r.transaction_id ?? r.identifier ?? r.id ?? '').trim();

/** The first three channels (BGR, 0–1 floats), channel-first [C,H,W] or channel-last [H,W,C], as RGB PNG. */
function colourPng(arrays: Map<string, NpyArray>, where: string): Promise<Buffer> {
  const a = arrays.get('data') ?? arrays.get('arr_0') ?? [...arrays.values()][0];
  if (!a || a.shape.length !== 3) throw new Error(`${where} holds no [C,H,W] array`);
  const [d0, d1, d2] = a.shape as [number, number, number];
  const channelLast = d2 <= 32 && d0 > 32;
  const [c, h, w] = channelLast ? [d2, d0, d1] : [d0, d1, d2];
  if (c < 3) throw new Error(`${where} has ${c} channels; the first three must be BGR colour`);
  const scale = a.dtype === '|u1' ? 1 : 255;
  const out = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i += 1) {
    for (let k = 0; k < 3; k += 1) {
      const ch = 2 - k; // BGR → RGB
      const v = channelLast ? a.data[i * c + ch]! : a.data[ch * w * h + i]!;
      out[i * 3 + k] = Math.max(0, Math.min(255, Math.round(v * scale)));
    }
  }
  return sharp(out, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}
