/**
 * Worker-thread entry that writes Parquet files with hyparquet-writer: each `rows` message
 * becomes one row group of its file, written at once, so the thread holds one group at a time.
 * Every message is answered with `{ ack }` or `{ ack, error }`. Started by `sinks.ts`.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { ParquetMessage } from './sinks';

interface Writer {
  write(o: { columnData: { name: string; data: unknown[] }[]; rowGroupSize: number }): void | Promise<void>;
  finish(): void | Promise<void>;
}
interface ByteWriter {
  buffer: ArrayBuffer;
  index: number;
  flush?(): void;
  finish(): void;
}
interface HyparquetWriter {
  ParquetWriter: new (o: { writer: ByteWriter; schema: unknown[]; createdBy?: string }) => Writer;
  ByteWriter: new () => ByteWriter;
}

// hyparquet-writer is an ES module; a variable specifier keeps this a real `import()`.
const load = (specifier: string): Promise<unknown> => import(specifier);
const library = load('hyparquet-writer') as Promise<HyparquetWriter>;

/**
 * A byte writer that appends to `file` after every row group (the Parquet writer calls `flush`
 * then), so its buffer never holds more than one row group, however large the file grows.
 */
function rowGroupFileWriter(hw: HyparquetWriter, file: string): ByteWriter {
  const fd = fs.openSync(file, 'w');
  const writer = new hw.ByteWriter();
  writer.flush = () => {
    if (writer.index) fs.writeSync(fd, new Uint8Array(writer.buffer, 0, writer.index));
    writer.index = 0;
  };
  writer.finish = () => {
    writer.flush!();
    fs.closeSync(fd);
  };
  return writer;
}

const open = new Map<number, { writer: Writer; columns: string[] }>();

// Messages are handled one after another, in the order they were posted.
let queue = Promise.resolve();
parentPort!.on('message', (m: ParquetMessage) => {
  queue = queue.then(() =>
    handle(m).then(
      () => parentPort!.postMessage({ ack: m.seq }),
      (err: Error) => parentPort!.postMessage({ ack: m.seq, error: err.message }),
    ),
  );
});

async function handle(m: ParquetMessage): Promise<void> {
  if (m.type === 'open') {
    const hw = await library;
    const writer = new hw.ParquetWriter({
      writer: rowGroupFileWriter(hw, m.file),
      schema: m.schema,
      createdBy: m.createdBy,
    });
    open.set(m.part, { writer, columns: m.columns });
  } else if (m.type === 'rows') {
    const w = open.get(m.part);
    if (!w) throw new Error(`parquet part ${m.part} is not open`);
    const columnData = w.columns.map((name) => ({ name, data: m.rows.map((r) => r[name] ?? null) }));
    await w.writer.write({ columnData, rowGroupSize: m.rows.length });
  } else {
    const w = open.get(m.part);
    if (!w) throw new Error(`parquet part ${m.part} is not open`);
    await w.writer.finish();
    open.delete(m.part);
  }
}
