/** Worker-thread entry for `parquet.ts`: reads one Parquet file with hyparquet. */
import { parentPort, workerData } from 'node:worker_threads';

interface Hyparquet {
  asyncBufferFromFile(file: string): Promise<unknown>;
  parquetMetadataAsync(file: unknown): Promise<{ num_rows: bigint; row_groups: unknown[]; schema: { name: string }[] }>;
  parquetReadObjects(o: { file: unknown }): Promise<Record<string, unknown>[]>;
}

async function read(file: string) {
  // hyparquet is an ES module without top-level await: Node's require loads it.
  const hp = require('hyparquet') as Hyparquet;
  const buffer = await hp.asyncBufferFromFile(file);
  const meta = await hp.parquetMetadataAsync(buffer);
  const rows = await hp.parquetReadObjects({ file: buffer });
  return {
    rows,
    rowGroups: meta.row_groups.length,
    numRows: Number(meta.num_rows),
    columns: meta.schema.slice(1).map((s) => s.name),
  };
}

read(workerData as string).then(
  (value) => parentPort!.postMessage({ ok: true, value }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: err.message }),
);
