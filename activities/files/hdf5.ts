/**
 * HDF5 through h5wasm. The package ships ES modules only, so its self-contained script build is
 * evaluated once and used from CommonJS. Files are copied into h5wasm's in-memory file system to
 * be opened; `withHdf5File` removes the copy afterwards.
 *
 * The HDF5 library prints its error stack (`HDF5-DIAG: Error detected in HDF5 …`, dozens of
 * lines per bad file) to stderr through the module's console. That console is replaced by one
 * that keeps the lines instead, so a failed open becomes one `Hdf5ReadError` naming the
 * innermost cause (e.g. `truncated file: eof = 300 … stored_eof = 52656`) and stderr stays quiet.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type * as H5 from 'h5wasm';

export type H5Wasm = typeof H5;

let loaded: Promise<H5Wasm> | undefined;

/** Lines the library printed since the last `openHdf5File`; bounded so a long run cannot grow it. */
const diagnostics: string[] = [];
const MAX_DIAGNOSTICS = 400;

const record = (...args: unknown[]) => {
  if (diagnostics.length < MAX_DIAGNOSTICS) diagnostics.push(args.map(String).join(' '));
};
const libraryConsole = { ...console, error: record, warn: record };

/** An HDF5 file the library refused to open; the message is the innermost cause it gave. */
export class Hdf5ReadError extends Error {}

export function loadH5wasm(): Promise<H5Wasm> {
  loaded ??= (async () => {
    const file = findScript();
    const code = fs.readFileSync(file, 'utf8');
    const wrapped = `(function(console){${code}\n;return h5wasm;})`;
    const lib = (vm.runInThisContext(wrapped, { filename: file }) as (c: Console) => H5Wasm)(libraryConsole);
    await lib.ready;
    return lib;
  })();
  return loaded;
}

function findScript(): string {
  for (const dir of require.resolve.paths('h5wasm') ?? []) {
    const candidate = path.join(dir, 'h5wasm', 'dist', 'iife', 'h5wasm.js');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('h5wasm is not installed: run npm ci');
}

/**
 * Opens `name` (a path in h5wasm's file system) read-only. The library does not throw on a bad
 * file, it hands back an invalid id and prints its error stack; this throws instead.
 */
export function openHdf5File(h5: H5Wasm, name: string): H5.File {
  diagnostics.length = 0;
  const file = new h5.File(name, 'r');
  if (Number(file.file_id) >= 0) {
    diagnostics.length = 0;
    return file;
  }
  const cause = innermostCause(diagnostics);
  diagnostics.length = 0;
  throw new Hdf5ReadError(describe(cause));
}

/** The last `#NNN: … in func(): message` line of the first error stack: HDF5's most specific cause. */
function innermostCause(lines: string[]): string | undefined {
  let cause: string | undefined;
  for (const [i, line] of lines.entries()) {
    if (i > 0 && line.startsWith('HDF5-DIAG')) break;
    const m = /^\s*#\d+:.* in [\w]+\(\): (.*)$/.exec(line);
    if (m) cause = m[1]!.trim();
  }
  return cause;
}

function describe(cause: string | undefined): string {
  if (!cause) return 'the HDF5 library could not open it';
  const truncated = /^truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(cause);
  if (truncated) return `truncated: ${truncated[1]} of the ${truncated[2]} bytes its superblock records`;
  if (/file signature not found/.test(cause)) return 'no HDF5 signature (not an HDF5 file, or its header is corrupt)';
  return `corrupt (${cause})`;
}

let counter = 0;

/** Opens `bytes` as an HDF5 file for the duration of `use`. */
export async function withHdf5File<T>(bytes: Uint8Array, use: (file: H5.File, h5: H5Wasm) => T): Promise<T> {
  const h5 = await loadH5wasm();
  const FS = h5.FS!;
  const name = `/fasforge-${process.pid}-${(counter += 1)}.h5`;
  FS.writeFile(name, bytes);
  let file: H5.File;
  try {
    file = openHdf5File(h5, name);
  } catch (err) {
    FS.unlink(name);
    throw err;
  }
  try {
    return use(file, h5);
  } finally {
    file.close();
    FS.unlink(name);
  }
}

/** Writes an HDF5 file built by `build` and returns its bytes (fixture scripts and tests). */
export async function buildHdf5File(build: (file: H5.File) => void): Promise<Uint8Array> {
  const h5 = await loadH5wasm();
  const FS = h5.FS!;
  const name = `/fasforge-${process.pid}-${(counter += 1)}.h5`;
  const file = new h5.File(name, 'w');
  try {
    build(file);
  } finally {
    file.close();
  }
  const bytes = FS.readFile(name);
  FS.unlink(name);
  return bytes;
}
