/**
 * Cataloguing: turns configured sources into catalogue rows without touching the database. Each
 * adapter lists its entries; videos are sampled to frames and frame folders cut to the frame
 * budget; every image passes hygiene (decode, limits, sRGB) and is hashed; exact and near
 * duplicates are dropped naming the image kept; native codes map through the taxonomy; splits come
 * from the subject or the source's protocol, and a subject in two splits stops the catalogue.
 * The ingest activity and `fasforge catalog` both run this, so they always agree.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { classBySynonym, mapNativeCode, type Taxonomy } from '../../config/assets';
import { inspectImageBytes, phashDistance, type InspectedImage } from '../images/inspect';
import { listCelebaSpoof } from './celeba-spoof';
import { listManifest } from './manifest';
import { listOuluNpu } from './oulu-npu';
import { listPadisi } from './padisi';
import { readSpoofRegions, RegionIndex } from './regions';
import { listSiwMv2 } from './siw-mv2';
import {
  SourceLayoutError,
  SplitLeakageError,
  type Box,
  type ResolvedSource,
  type SourceEntry,
  type Split,
} from './source-entry';
import { ensureFfmpeg, evenlySpaced, sampleVideoFrames } from './video';
import { listWmca } from './wmca';

export interface CatalogRow {
  source: string;
  adapter: string;
  relPath: string;
  /** The file later stages read: the original, or the converted copy under the work folder. */
  absPath: string;
  nativeLabel: string;
  nativeName: string | null;
  className: string | null;
  subject: string | null;
  videoId: string | null;
  licence: string;
  contentHash: string | null;
  phash: string | null;
  width: number | null;
  height: number | null;
  spoofBox: Box | null;
  faceBox: Box | null;
  metadata: Record<string, unknown> | null;
  split: Split | null;
  status: 'ok' | 'excluded' | 'failed';
  reason: string | null;
  detail: string | null;
  duplicateOf: string | null;
}

export interface CatalogOptions {
  /**
   * Where frames, container samples and converted images are written (content-addressed). Without
   * it nothing is written and such rows have an empty `absPath` (a dry run).
   */
  workDir?: string;
  /** Content hash → `<source>/<relPath>` of images an earlier attempt kept. */
  known?: Map<string, string>;
  /** Keep at most this many images; the rest are excluded without being decoded. */
  maxImages?: number;
  /** Called often enough to heartbeat on: per file while listing containers and sampling videos, per chunk while decoding. */
  onProgress?: (p: { source: string; phase: 'list' | 'frames' | 'decode'; done: number; total: number }) => void;
}

type Lister = (s: ResolvedSource, tick: (done: number, total: number) => void) => Promise<SourceEntry[]>;

const listers: Record<ResolvedSource['adapter'], Lister> = {
  'siw-mv2': (s) => listSiwMv2(s.root),
  wmca: listWmca,
  padisi: listPadisi,
  'celeba-spoof': listCelebaSpoof,
  'oulu-npu': listOuluNpu,
  manifest: (s) => listManifest(s.root, s.manifestRoot),
};

/** Decodes run this many at a time; sharp's own thread pool does the pixel work. */
const PARALLEL_DECODES = 4;

export async function catalogSources(
  sources: ResolvedSource[],
  taxonomy: Taxonomy,
  opts: CatalogOptions = {},
): Promise<CatalogRow[]> {
  const distance = Math.max(0, ...sources.map((s) => s.nearDuplicateDistance));
  const state: DedupState = { byHash: new Map(opts.known), distance, byClass: new Map(), byVideo: new Map() };
  let room = opts.maxImages ?? Number.POSITIVE_INFINITY;
  const rows: CatalogRow[] = [];
  for (const source of sources) checkProtocolSupport(source);
  for (const source of sources) {
    const tick = (phase: 'list' | 'frames') => (done: number, total: number) =>
      opts.onProgress?.({ source: source.name, phase, done, total });
    const entries = await expandVideos(source, await listers[source.adapter](source, tick('list')), tick('frames'));
    const regions = source.spoofRegions
      ? await readSpoofRegions(source.spoofRegions, source.root)
      : new RegionIndex(new Map());
    const budgeted = applyFrameBudget(entries, source.frameBudget);
    for (let i = 0; i < budgeted.length; i += PARALLEL_DECODES) {
      const chunk = budgeted.slice(i, i + PARALLEL_DECODES);
      const seen = await Promise.all(
        chunk.map((e) => (needsDecode(e, source, taxonomy) && room > 0 ? decode(e, source) : undefined)),
      );
      for (const [k, entry] of chunk.entries()) {
        const row = await finishRow(source, taxonomy, entry, seen[k], regions, state, opts.workDir, room);
        if (row.status === 'ok') room -= 1;
        rows.push(row);
      }
      opts.onProgress?.({
        source: source.name,
        phase: 'decode',
        done: Math.min(i + PARALLEL_DECODES, budgeted.length),
        total: budgeted.length,
      });
    }
  }
  checkLeakage(rows);
  return rows;
}

/** Adapters whose datasets carry their own train/val/test assignment, and where it comes from. */
const PROTOCOL_SUPPORT: Partial<Record<ResolvedSource['adapter'], string>> = {
  wmca: 'protocols/<name>/ lists',
  'oulu-npu': '"users" or Protocols/<name>/ lists',
  padisi: 'folds part0, part1, part2',
  'celeba-spoof': 'the Data/train and Data/test folders',
  manifest: 'its "split" column',
};

/** Adapters with one built-in assignment and no named protocols. */
const UNNAMED_PROTOCOL = new Set<ResolvedSource['adapter']>(['celeba-spoof', 'manifest']);

/**
 * `split: "protocol"` on an adapter without protocols would drop every image, and a protocol name
 * an adapter has no use for would be silently ignored; both are refused before anything is read.
 */
function checkProtocolSupport(source: ResolvedSource): void {
  if (source.split !== 'protocol') return;
  if (source.protocol !== undefined && UNNAMED_PROTOCOL.has(source.adapter)) {
    throw new SourceLayoutError(
      `source "${source.name}": ${source.adapter} has no named protocols (its splits come from ` +
        `${PROTOCOL_SUPPORT[source.adapter]}), so protocol "${source.protocol}" is unknown; leave "protocol" out`,
    );
  }
  if (PROTOCOL_SUPPORT[source.adapter]) return;
  const supported = Object.entries(PROTOCOL_SUPPORT)
    .map(([adapter, from]) => `${adapter} (${from})`)
    .join(', ');
  throw new SourceLayoutError(
    `source "${source.name}": ${source.adapter} has no protocol lists, so "split": "protocol" cannot split it; ` +
      `use "split": "subject" (subject-disjoint 80/10/10). Adapters with protocols: ${supported}`,
  );
}

/** Nothing at all was accepted: no later stage has work, so the build must not go on as if it had. */
export class NoImageAcceptedError extends SourceLayoutError {
  override name = 'NoImageAcceptedError';
}

/**
 * The error for a catalogue that accepted no image, or undefined when one was accepted. The
 * message names the sources and counts the rejections by reason, the most common first.
 */
export function noImageAccepted(
  sources: Pick<ResolvedSource, 'name' | 'root'>[],
  rows: Pick<CatalogRow, 'status' | 'reason'>[],
): NoImageAcceptedError | undefined {
  if (rows.some((r) => r.status === 'ok')) return undefined;
  const byReason = new Map<string, number>();
  for (const r of rows) byReason.set(r.reason ?? 'unknown', (byReason.get(r.reason ?? 'unknown') ?? 0) + 1);
  const reasons =
    [...byReason]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ') || 'none (the sources hold no files)';
  const names = sources.map((s) => `"${s.name}" (${s.root})`).join(', ');
  return new NoImageAcceptedError(`no image accepted from ${names}; rejections by reason: ${reasons}`);
}

interface DedupState {
  byHash: Map<string, string>;
  /** The largest near-duplicate distance of any source: the class indexes are cut for it. */
  distance: number;
  /** Kept perceptual hashes per canonical class: near-duplicates are looked for within a class. */
  byClass: Map<string, PhashIndex>;
  byVideo: Map<string, { key: string; phash: string }[]>;
}

function needsDecode(e: SourceEntry, source: ResolvedSource, taxonomy: Taxonomy): boolean {
  return !e.excluded && e.kind === 'image' && resolveClass(taxonomy, source.adapter, e.nativeCode).className !== null;
}

type Decoded = InspectedImage & { loaded?: Buffer };

async function decode(e: SourceEntry, source: ResolvedSource): Promise<Decoded> {
  let bytes: Buffer;
  try {
    bytes = e.load ? await e.load() : await fs.readFile(e.file!);
  } catch (err) {
    return { ok: false, reason: 'unreadable_file', detail: (err as Error).message };
  }
  const seen = await inspectImageBytes(bytes, { maxPixels: source.maxPixels, minSide: source.minSide });
  return e.load ? { ...seen, loaded: bytes } : seen;
}

function resolveClass(
  taxonomy: Taxonomy,
  adapter: string,
  code: string,
): { className: string | null; nativeName: string | null; why?: string } {
  const mapped = mapNativeCode(taxonomy, adapter, code);
  if (mapped) return { className: mapped.class, nativeName: mapped.name, why: mapped.reason };
  if (adapter === 'manifest') {
    const c = classBySynonym(taxonomy, code);
    if (c) return { className: c.name, nativeName: code };
  }
  return { className: null, nativeName: null };
}

async function finishRow(
  source: ResolvedSource,
  taxonomy: Taxonomy,
  e: SourceEntry,
  seen: Decoded | undefined,
  regions: RegionIndex,
  state: DedupState,
  workDir: string | undefined,
  room: number,
): Promise<CatalogRow> {
  const { className, nativeName, why } = resolveClass(taxonomy, source.adapter, e.nativeCode);
  const subject = e.subject;
  const row: CatalogRow = {
    source: source.name,
    adapter: source.adapter,
    relPath: e.relPath,
    absPath: e.file ?? '',
    nativeLabel: e.nativeCode,
    nativeName,
    className,
    subject,
    videoId: e.videoId ?? null,
    licence: source.licence,
    contentHash: null,
    phash: null,
    width: null,
    height: null,
    spoofBox: e.spoofBox ?? regions.get(e.relPath) ?? null,
    faceBox: null,
    metadata: e.metadata ?? null,
    split: null,
    status: 'ok',
    reason: null,
    detail: null,
    duplicateOf: null,
  };
  const exclude = (reason: string, detail: string, status: 'excluded' | 'failed' = 'excluded') =>
    Object.assign(row, { status, reason, detail });

  if (e.excluded) return exclude(e.excluded.reason, e.excluded.detail);
  if (e.kind === 'video') return exclude('video_without_frames', 'the video gave no frames');
  if (e.kind === 'other') return exclude('not_an_image', 'the file name has no image or video extension');
  if (!className) {
    const detail = why ?? `${source.adapter} code "${e.nativeCode}" has no entry in config/taxonomy.json`;
    return exclude('native_label_without_class', `${e.nativeCode}${nativeName ? ` (${nativeName})` : ''}: ${detail}`);
  }
  const full = () => exclude('max_images_reached', 'the build keeps no more images (build option maxImages)');
  if (!seen) return full();
  if (!seen.ok)
    return Object.assign(row, { contentHash: seen.contentHash ?? null }, exclude(seen.reason, seen.detail, 'failed'));

  Object.assign(row, { contentHash: seen.contentHash, phash: seen.phash, width: seen.width, height: seen.height });
  if (seen.changes.length) row.metadata = { ...row.metadata, converted: seen.changes };
  if (e.faceBox) row.faceBox = scaleBox(e.faceBox, e.faceBoxFrame, seen.width, seen.height);
  row.split =
    source.split === 'protocol' ? (e.protocolSplit ?? null) : splitForSubject(`${source.name}/${subject ?? e.relPath}`);
  if (!row.split) return exclude('not_in_protocol', `protocol ${source.protocol ?? ''} does not list ${e.relPath}`);

  const key = `${source.name}/${e.relPath}`;
  const first = state.byHash.get(seen.contentHash);
  if (first && first !== key) {
    row.duplicateOf = first;
    return exclude('duplicate_content', `same bytes as ${first}, which is kept`);
  }
  const near = source.nearDuplicateDistance >= 0 ? nearDuplicate(state, row, source.nearDuplicateDistance) : undefined;
  if (near) {
    row.duplicateOf = near.key;
    const where = row.videoId && near.sameVideo ? `another frame of ${row.videoId}` : 'an image of the same class';
    return exclude(
      'near_duplicate',
      `perceptual hash within ${near.distance} bits of ${near.key} (${where}), which is kept`,
    );
  }
  if (room <= 0) return full();
  state.byHash.set(seen.contentHash, key);
  const mark = { key, phash: seen.phash };
  if (!state.byClass.has(className)) state.byClass.set(className, new PhashIndex(state.distance));
  state.byClass.get(className)!.add(key, seen.phash);
  if (row.videoId) {
    const vk = `${source.name}/${row.videoId}`;
    state.byVideo.set(vk, [...(state.byVideo.get(vk) ?? []), mark]);
  }
  const content = seen.normalized ?? seen.loaded;
  if (workDir && content) row.absPath = await writeContent(workDir, content, 'png');
  return row;
}

function nearDuplicate(
  state: DedupState,
  row: CatalogRow,
  maxDistance: number,
): { key: string; distance: number; sameVideo: boolean } | undefined {
  for (const kept of row.videoId ? (state.byVideo.get(`${row.source}/${row.videoId}`) ?? []) : []) {
    const distance = phashDistance(kept.phash, row.phash!);
    if (distance <= maxDistance) return { key: kept.key, distance, sameVideo: true };
  }
  const near = state.byClass.get(row.className!)?.find(row.phash!, maxDistance);
  return near && { ...near, sameVideo: false };
}

/**
 * Kept hashes of one class, searchable by Hamming distance without comparing against them all:
 * the 64 bits are cut into `maxDistance + 1` pieces, and two hashes within `maxDistance` bits
 * share at least one piece exactly, so only hashes sharing a piece are compared.
 */
export class PhashIndex {
  private readonly cuts: number[];
  private readonly buckets = new Map<string, { key: string; phash: string }[]>();

  constructor(maxDistance: number) {
    const pieces = Math.min(64, maxDistance + 1);
    this.cuts = Array.from({ length: pieces + 1 }, (_, i) => Math.round((i * 64) / pieces));
  }

  add(key: string, phash: string): void {
    for (const piece of this.pieces(phash)) {
      const list = this.buckets.get(piece);
      if (list) list.push({ key, phash });
      else this.buckets.set(piece, [{ key, phash }]);
    }
  }

  find(phash: string, maxDistance: number): { key: string; distance: number } | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const piece of this.pieces(phash)) {
      for (const kept of this.buckets.get(piece) ?? []) {
        const distance = phashDistance(kept.phash, phash);
        if (distance <= maxDistance && (!best || distance < best.distance)) best = { key: kept.key, distance };
      }
    }
    return best;
  }

  private pieces(phash: string): string[] {
    return this.cuts.slice(1).map((end, i) => `${i}:${phash.slice(this.cuts[i], end)}`);
  }
}

/** Writes bytes once under their hash; a retried ingest finds the same file. */
async function writeContent(workDir: string, bytes: Buffer, ext: string): Promise<string> {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const file = path.join(workDir, hash.slice(0, 2), `${hash}.${ext}`);
  if (!(await fs.stat(file).catch(() => undefined))) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, file);
  }
  return file;
}

function scaleBox(box: Box, frame: { width: number; height: number } | undefined, width: number, height: number): Box {
  if (!frame) return box;
  const sx = width / frame.width;
  const sy = height / frame.height;
  const r = (v: number) => Math.round(v * 100) / 100;
  return [r(box[0] * sx), r(box[1] * sy), r(box[2] * sx), r(box[3] * sy)];
}

/** Videos become frame entries (`<video>#frame=<n>`), evenly spaced up to the source's frame budget. */
async function expandVideos(
  source: ResolvedSource,
  entries: SourceEntry[],
  tick: (done: number, total: number) => void,
): Promise<SourceEntry[]> {
  const videos = entries.filter((e) => e.kind === 'video' && !e.excluded);
  if (videos.length === 0) return entries;
  await ensureFfmpeg();
  const out: SourceEntry[] = entries.filter((e) => !videos.includes(e));
  for (const [i, v] of videos.entries()) {
    tick(i, videos.length);
    let sampled;
    try {
      sampled = await sampleVideoFrames(v.file!, source.frameBudget);
    } catch (err) {
      out.push({ ...v, excluded: { reason: 'unreadable_video', detail: (err as Error).message.split('\n')[0] ?? '' } });
      continue;
    }
    if (sampled.frames.length === 0) out.push(v);
    for (const f of sampled.frames) {
      out.push({
        ...v,
        relPath: `${v.relPath}#frame=${f.index}`,
        file: undefined,
        load: () => Promise.resolve(f.png),
        kind: 'image',
        videoId: v.relPath,
        metadata: { ...v.metadata, video: v.relPath, frameIndex: f.index, frameCount: sampled.count },
      });
    }
  }
  return out;
}

/** Frame folders and container videos keep `frameBudget` evenly spaced frames; the rest get a row saying so. */
function applyFrameBudget(entries: SourceEntry[], budget: number): SourceEntry[] {
  const groups = new Map<string, SourceEntry[]>();
  for (const e of entries) {
    if (e.videoId && e.kind === 'image' && !e.excluded) groups.set(e.videoId, [...(groups.get(e.videoId) ?? []), e]);
  }
  for (const [videoId, frames] of groups) {
    if (frames.length <= budget) continue;
    const keep = new Set(evenlySpaced(frames.length, budget));
    const detail = `${videoId} has ${frames.length} frames; ${budget} evenly spaced are kept (source option frameBudget)`;
    frames.forEach((f, i) => {
      if (!keep.has(i)) f.excluded = { reason: 'over_frame_budget', detail };
    });
  }
  return entries;
}

/** Subject-disjoint split: every image of one subject lands in the same split (80/10/10 by hash). */
export function splitForSubject(subjectKey: string): Split {
  const bucket = createHash('sha256').update(subjectKey).digest().readUInt32BE(0) % 10;
  return bucket < 8 ? 'train' : bucket === 8 ? 'val' : 'test';
}

/** Fails when one subject of one source has kept images in two splits. */
export function checkLeakage(rows: CatalogRow[]): void {
  const first = new Map<string, CatalogRow>();
  for (const r of rows) {
    if (r.status !== 'ok' || !r.subject || !r.split) continue;
    const key = `${r.source}\u0000${r.subject}`;
    const other = first.get(key);
    if (!other) first.set(key, r);
    else if (other.split !== r.split) {
      throw new SplitLeakageError(
        `subject "${r.subject}" of source "${r.source}" would be in two splits: ${other.relPath} in ${other.split}, ` +
          `${r.relPath} in ${r.split}; fix the protocol lists so each subject sits in one split, or use "split": "subject"`,
      );
    }
  }
}
