/**
 * `manifest.json`: every file of the export with its size and sha256, what made the export
 * (build config, prompt and taxonomy versions, model ids, code version) and the dataset version
 * id. The version id is a hash over the config, the versions, the model ids and the data files'
 * hashes; the card, charts and summary are left out of it, so exporting the same build again
 * gives the same id. Paths on the building machine are never written.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../config/env';
import { heartbeat } from '../heartbeat';

export interface FileEntry {
  path: string;
  size: number;
  sha256: string;
}

/** Files that describe the data rather than hold it; they are outside the version id. */
export const DESCRIPTIVE = (rel: string) =>
  rel === 'README.md' || rel === 'summary.json' || rel === 'manifest.json' || rel.startsWith('charts/');

export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Every file under `dir` (relative, '/'-separated, sorted), hashed; `skip` leaves some out. */
export async function listFiles(dir: string, skip: (rel: string) => boolean = () => false): Promise<FileEntry[]> {
  const rels = (await fsp.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .filter((rel) => !skip(rel))
    .sort();
  const out: FileEntry[] = [];
  for (const [i, rel] of rels.entries()) {
    out.push({ path: rel, ...(await hashFile(path.join(dir, rel))) });
    if (i % 200 === 0) heartbeat({ stage: 'export', hashed: i, files: rels.length });
  }
  return out;
}

export function versionId(identity: unknown, dataFiles: FileEntry[]): string {
  const hash = createHash('sha256').update(canonicalJson(identity));
  for (const f of dataFiles) hash.update(`\n${f.path}\u0000${f.size}\u0000${f.sha256}`);
  return `ds-${hash.digest('hex').slice(0, 20)}`;
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** The config with every absolute path replaced, so nothing in the export names the building machine. */
export function withoutLocalPaths<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' && path.isAbsolute(v) ? '<local path>' : v)),
  ) as T;
}

export interface CodeVersion {
  package: string;
  version: string;
  /** The git commit, when the code runs from a git checkout with git installed. */
  commit: string | null;
  /** Whether the checkout had uncommitted changes. */
  dirty: boolean | null;
}

let codeVersionCache: Promise<CodeVersion> | undefined;

export function codeVersion(): Promise<CodeVersion> {
  codeVersionCache ??= (async () => {
    const pkg = JSON.parse(await fsp.readFile(path.join(projectRoot, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    const git = async (...args: string[]) =>
      (await promisify(execFile)('git', args, { cwd: projectRoot, timeout: 5000 })).stdout.trim();
    let commit: string | null = null;
    let dirty: boolean | null = null;
    try {
      commit = await git('rev-parse', 'HEAD');
      dirty = (await git('--no-optional-locks', 'status', '--porcelain', '--untracked-files=no')).length > 0;
    } catch {
      // Not a git checkout, or no git: the package version alone identifies the code.
    }
    return { package: pkg.name, version: pkg.version, commit, dirty };
  })();
  return codeVersionCache;
}
