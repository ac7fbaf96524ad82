/**
 * The WMCA adapter, for the preprocessed release: one HDF5 file per video named
 * `<client>_<session>_<presenter>_<type>_<pai>.hdf5` (often under capture-date folders), holding
 * groups `Frame_<i>` each with a dataset `array`, [3,128,128] RGB or [4,128,128] CDIT
 * (colour/depth/infrared/thermal; only the colour channel is taken). The native code is
 * `<type>_<pai>`; the subject is the client for bona fide, the presenter for a worn attack, and
 * the instrument (`pai-<client>`) for one on a support.
 *
 * Protocols (`split: "protocol"`): `<root>/protocols/<name>/{train,dev,eval}.txt` (or `.csv`),
 * one video per line by file name or stem in the first field, as Idiap's lists give them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type * as H5 from 'h5wasm';
import { loadH5wasm, openHdf5File } from './hdf5';
import { readProtocolLists } from './protocol-lists';
import { fileEntry, isDir, SourceLayoutError, walkFiles, type ResolvedSource, type SourceEntry } from './source-entry';

const NAME = /^(\d+)_(\d+)_(\d+)_(\d)_(\d+)/;

export async function listWmca(
  source: ResolvedSource,
  tick?: (done: number, total: number) => void,
): Promise<SourceEntry[]> {
  const { root } = source;
  if (!(await isDir(root))) throw new SourceLayoutError(`WMCA root ${root} is not a folder`);
  const files = (await walkFiles(root, root)).filter((f) => /\.(hdf5|h5)$/i.test(f.rel));
  if (files.length === 0) {
    throw new SourceLayoutError(`WMCA root ${root} holds no .hdf5 files; point "root" at the preprocessed release`);
  }
  const protocol =
    source.split === 'protocol' ? await readProtocolLists(root, 'protocols', source.protocol, 'WMCA') : undefined;
  const entries: SourceEntry[] = [];
  for (const [i, f] of files.entries()) {
    tick?.(i, files.length);
    const stem = path.basename(f.rel).replace(/\.(hdf5|h5)$/i, '');
    const m = NAME.exec(stem);
    if (!m || f.refused) {
      const excluded = f.refused ?? {
        reason: 'unrecognised_file_name',
        detail: `${f.rel} is not named <client>_<session>_<presenter>_<type>_<pai>.hdf5`,
      };
      entries.push(fileEntry(f, { nativeCode: 'unknown', subject: null, excluded }));
      continue;
    }
    const [, client, session, presenter, type, pai] = m as unknown as string[];
    const nativeCode = `${type}_${pai!.padStart(2, '0').slice(-2)}`;
    const subject = type === '0' ? client! : presenter !== '000' ? presenter! : `pai-${client}`;
    const metadata = { client, session, presenter, type, pai, video: f.rel };
    const protocolSplit = protocol?.get(stem) ?? protocol?.get(f.rel);
    let frames: { name: string; channels: number }[];
    try {
      frames = await withOpenFile(f.abs, (file) => listFrames(file));
    } catch (err) {
      const detail = `${f.rel} is not a readable HDF5 file: ${(err as Error).message}`;
      entries.push(fileEntry(f, { nativeCode, subject, metadata, excluded: { reason: 'corrupt_container', detail } }));
      continue;
    }
    if (frames.length === 0) {
      const detail = `${f.rel} has no Frame_<i>/array datasets`;
      entries.push(fileEntry(f, { nativeCode, subject, metadata, excluded: { reason: 'no_frames', detail } }));
    }
    for (const fr of frames) {
      entries.push({
        relPath: `${f.rel}#${fr.name}`,
        kind: 'image',
        nativeCode,
        subject,
        videoId: f.rel,
        protocolSplit,
        metadata: { ...metadata, frame: fr.name, stream: fr.channels === 4 ? 'CDIT' : 'RGB' },
        load: () => withOpenFile(f.abs, (file) => framePng(file, fr.name)),
      });
    }
  }
  return entries;
}

function listFrames(file: H5.File): { name: string; channels: number }[] {
  const names = file.keys().filter((k) => /^Frame_\d+$/.test(k));
  names.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  return names.flatMap((name) => {
    const d = file.get(`${name}/array`) as H5.Dataset | null;
    return d?.shape ? [{ name, channels: d.shape[0] ?? 0 }] : [];
  });
}

/** The frame as PNG: RGB from a 3-channel array, the colour (grey) channel of a 4-channel CDIT one. */
function framePng(file: H5.File, name: string): Promise<Buffer> {
  const d = file.get(`${name}/array`) as H5.Dataset;
  const [c = 0, h = 0, w = 0] = d.shape ?? [];
  const data = d.value as ArrayLike<number>;
  const channels = c === 4 ? 1 : 3;
  if (c !== 3 && c !== 4) throw new Error(`${name}/array has shape [${d.shape?.join(',')}], not [3|4,H,W]`);
  const out = Buffer.alloc(w * h * channels);
  for (let ch = 0; ch < channels; ch += 1) {
    for (let i = 0; i < w * h; i += 1) out[i * channels + ch] = Number(data[ch * w * h + i]);
  }
  return sharp(out, { raw: { width: w, height: h, channels } })
    .png()
    .toBuffer();
}

let open: { path: string; file: H5.File; name: string } | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Keeps the last HDF5 file open, since frames of one video are read one after another; calls
 * are queued so that parallel decodes never swap the open file under each other.
 */
function withOpenFile<T>(abs: string, use: (file: H5.File) => T | Promise<T>): Promise<Awaited<T>> {
  const run = async (): Promise<Awaited<T>> => {
    const h5 = await loadH5wasm();
    if (open?.path !== abs) {
      if (open) {
        open.file.close();
        h5.FS!.unlink(open.name);
        open = undefined;
      }
      const name = `/wmca-${process.pid}.h5`;
      h5.FS!.writeFile(name, await fs.readFile(abs));
      open = { path: abs, file: openHdf5File(h5, name), name };
    }
    return await use(open.file);
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
