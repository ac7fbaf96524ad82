/**
 * Jest runs each test file in its own VM context, so typed arrays made by ONNX Runtime's native
 * binding (in Node's main context) fail onnxruntime-common's `instanceof Float32Array` checks.
 * Importing this module first makes the test context use the main context's typed arrays.
 * Outside jest there is only one context and nothing needs doing.
 */
import { runInThisContext } from 'node:vm';

const names = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

for (const name of names) {
  const outer = runInThisContext(name) as unknown;
  if (outer !== (globalThis as Record<string, unknown>)[name]) {
    Object.defineProperty(globalThis, name, { value: outer, writable: true, configurable: true });
  }
}

export {};
