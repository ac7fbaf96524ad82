/**
 * What every adapter produces: one entry per image, frame, video or stray file found in a source,
 * before decoding. Also the safe-path helpers every adapter uses, so that no adapter reads outside
 * its dataset root, and the error a broken source layout raises.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedBuildInput } from '../../config/build-input';
import { IMAGE_EXTENSIONS, VIDEO_EXTENSIONS } from '../images/inspect';

export type Box = [number, number, number, number];
export type Split = 'train' | 'val' | 'test';
export type ResolvedSource = ResolvedBuildInput['sources'][number];

export interface SourceEntry {
  /** Path relative to the source root, `/`-separated; a sample inside a container adds `#<part>`. */
  relPath: string;
  /** The file to read, already checked to lie inside the root (absent when `load` is given). */
  file?: string;
  /** Produces the encoded image for entries that are not image files (HDF5 frames, npz samples). */
  load?: () => Promise<Buffer>;
  kind: 'image' | 'video' | 'other';
  /** The native label code, looked up in the taxonomy under the source's adapter. */
  nativeCode: string;
  subject: string | null;
  /** The video or frame folder the entry belongs to; the frame budget applies per video. */
  videoId?: string;
  metadata?: Record<string, unknown>;
  /** Face box as corners; in `faceBoxFrame` pixels when given, else in the image's own pixels. */
  faceBox?: Box;
  faceBoxFrame?: { width: number; height: number };
  spoofBox?: Box;
  /** The split the source's protocol assigns, used when the source asks for `split: "protocol"`. */
  protocolSplit?: Split;
  /** Set by the adapter when the entry cannot be used whatever its content. */
  excluded?: { reason: string; detail: string };
}

/** A source whose layout or files cannot be read as configured; the message says what to change. */
export class SourceLayoutError extends Error {
  override name = 'SourceLayoutError';
}

/** Two splits would share a subject: a leak between train and test. */
export class SplitLeakageError extends Error {
  override name = 'SplitLeakageError';
}

export const toPosix = (p: string) => p.split(path.sep).join('/');

export type Containment = { ok: true; abs: string } | { ok: false; reason: 'outside_root'; detail: string };

/**
 * Resolves `p` (relative to `base`, or absolute) and checks that both the path and, when it
 * exists, its real path after symlinks lie inside `root`.
 */
export async function resolveInside(root: string, base: string, p: string): Promise<Containment> {
  const abs = path.resolve(base, p);
  if (!isWithin(root, abs))
    return { ok: false, reason: 'outside_root', detail: `${p} resolves to ${abs}, outside ${root}` };
  const real = await fs.realpath(abs).catch(() => undefined);
  if (real) {
    const realRoot = await fs.realpath(root).catch(() => root);
    if (!isWithin(realRoot, real)) {
      return { ok: false, reason: 'outside_root', detail: `${p} is a symlink to ${real}, outside ${root}` };
    }
  }
  return { ok: true, abs };
}

export function isWithin(root: string, abs: string): boolean {
  const rel = path.relative(root, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function kindOf(name: string): SourceEntry['kind'] {
  const ext = path.extname(name).toLowerCase();
  return IMAGE_EXTENSIONS.has(ext) ? 'image' : VIDEO_EXTENSIONS.has(ext) ? 'video' : 'other';
}

export interface FoundFile {
  abs: string;
  /** Relative to the walk's root, `/`-separated. */
  rel: string;
  /** Set when the file is a symlink whose target lies outside the root, or is missing. */
  refused?: { reason: string; detail: string };
}

/** Every file under `dir` (recursively, hidden files skipped), symlinks included and checked. */
export async function walkFiles(root: string, dir: string): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (d.name.startsWith('.')) continue;
    const abs = path.join(d.parentPath, d.name);
    const rel = toPosix(path.relative(root, abs));
    if (d.isFile()) out.push({ abs, rel });
    else if (d.isSymbolicLink()) {
      const stat = await fs.stat(abs).catch(() => undefined);
      const inside = await resolveInside(root, root, abs);
      if (!stat) out.push({ abs, rel, refused: { reason: 'unreadable_file', detail: `${rel} is a broken symlink` } });
      else if (!inside.ok) out.push({ abs, rel, refused: { reason: inside.reason, detail: inside.detail } });
      else if (stat.isDirectory()) {
        const detail = `${rel} is a symlinked folder; symlinked folders are not followed, link the files instead`;
        out.push({ abs, rel, refused: { reason: 'symlinked_folder', detail } });
      } else out.push({ abs, rel });
    }
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export const isDir = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;

/** An entry for a found file, with a symlink refusal already applied. */
export function fileEntry(f: FoundFile, fields: Omit<SourceEntry, 'relPath' | 'file' | 'kind'>): SourceEntry {
  return { relPath: f.rel, file: f.abs, kind: kindOf(f.rel), ...fields, ...(f.refused ? { excluded: f.refused } : {}) };
}
