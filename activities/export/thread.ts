/**
 * Worker threads for the export's ESM-only libraries (hyparquet-writer, vega, vega-lite). Vega
 * uses top-level await, so CommonJS code cannot require it; a worker thread is a plain Node
 * environment in which the entry module registers tsx and loads those libraries with Node's own
 * loader, whatever module system the caller runs in (including jest's).
 */
import { Worker } from 'node:worker_threads';

const tsxApi = require.resolve('tsx/cjs/api');

/** Starts `entry` (a TypeScript file in this folder) on a worker thread. */
export function startThread(entry: string, workerData?: unknown): Worker {
  const bootstrap = `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** One request, one answer: posts `input`, resolves with the thread's reply and stops the thread. */
export async function runOnThread<I, O>(entry: string, input: I): Promise<O> {
  const worker = startThread(entry, input);
  try {
    return await new Promise<O>((resolve, reject) => {
      worker.once('message', (m: { ok: true; value: O } | { ok: false; error: string }) =>
        m.ok ? resolve(m.value) : reject(new Error(m.error)),
      );
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`export thread ${entry} exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
