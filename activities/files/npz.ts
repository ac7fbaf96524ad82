/**
 * NumPy `.npz` archives (a zip of `.npy` files, unzipped with fflate) and the `.npy` format itself:
 * magic, version, a Python-dict header giving dtype, order and shape, then the raw array.
 */
import { unzipSync, zipSync } from 'fflate';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Uint16Array | Int16Array | Int32Array;
}

const TYPES: Record<string, { size: number; make: (b: ArrayBuffer, o: number, n: number) => NpyArray['data'] }> = {
  '<f4': { size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  '<f8': { size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  '|u1': { size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '<u2': { size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  '<i2': { size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  '<i4': { size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
};

export function readNpz(bytes: Uint8Array): Map<string, NpyArray> {
  const files = unzipSync(bytes);
  const out = new Map<string, NpyArray>();
  for (const [name, content] of Object.entries(files)) {
    if (name.endsWith('.npy')) out.set(name.slice(0, -4), readNpy(content));
  }
  return out;
}

export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY')
    throw new Error('not an .npy array');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const type = dtype ? TYPES[dtype] : undefined;
  if (!type) throw new Error(`.npy dtype ${dtype ?? '?'} is not supported`);
  if (fortran) throw new Error('.npy arrays in Fortran order are not supported');
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  // Copy so that the typed array is aligned whatever the header length.
  const raw = bytes.slice(offset, offset + n * type.size);
  if (raw.length < n * type.size) throw new Error('.npy data is shorter than its shape says');
  return { dtype: dtype!, shape, data: type.make(raw.buffer, 0, n) };
}

/** An .npy file for a little-endian float32 or uint8 array (fixture scripts and tests). */
export function writeNpy(data: Float32Array | Uint8Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function writeNpz(arrays: Record<string, Uint8Array>): Uint8Array {
  // A fixed time stamp keeps the archive byte-identical from one run to the next.
  const mtime = new Date('2026-01-01T00:00:00Z');
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${k}.npy`, v])), { level: 9, mtime });
}
