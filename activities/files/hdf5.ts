/**
 * HDF5 through h5wasm. The package ships ES modules only, so its self-contained script build is
 * evaluated once and used from CommonJS. Files are copied into h5wasm's in-memory file system to
 * be opened; `withHdf5File` removes the copy afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type * as H5 from 'h5wasm';

export type H5Wasm = typeof H5;

let loaded: Promise<H5Wasm> | undefined;

export function loadH5wasm(): Promise<H5Wasm> {
  loaded ??= (async () => {
    const file = findScript();
    const code = fs.readFileSync(file, 'utf8');
    const lib = vm.runInThisContext(`(function(){${code}\n;return h5wasm;})()`, { filename: file }) as H5Wasm;
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

let counter = 0;

/** Opens `bytes` as an HDF5 file for the duration of `use`. */
export async function withHdf5File<T>(bytes: Uint8Array, use: (file: H5.File, h5: H5Wasm) => T): Promise<T> {
  const h5 = await loadH5wasm();
  const FS = h5.FS!;
  const name = `/fasforge-${process.pid}-${(counter += 1)}.h5`;
  FS.writeFile(name, bytes);
  const file = new h5.File(name, 'r');
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
