/**
 * Output files: JSON arrays and JSON Lines through write streams as records stream past, and
 * Parquet files through one worker thread (see `parquet-thread.ts`) a row group at a time, so
 * memory stays flat.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startThread } from './thread';

/** Rows per Parquet row group: small enough that every open file's pending group stays small. */
export const ROW_GROUP_ROWS = 500;

/**
 * A JSON array (`[\n{…},\n{…}\n]`) or JSON Lines file, written in order. Each record goes
 * straight to the write stream (which batches the pending chunks into one write), so no text
 * waits in the JavaScript heap for a buffer to fill.
 */
export class TextFile {
  private readonly stream: fs.WriteStream;
  private error: Error | undefined;
  count = 0;

  constructor(
    readonly file: string,
    private readonly kind: 'array' | 'lines',
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.stream = fs.createWriteStream(file, { highWaterMark: 256 * 1024 });
    // Kept and thrown by the next call, rather than crashing the process as an unhandled event.
    this.stream.on('error', (err) => (this.error ??= err));
    if (kind === 'array') this.stream.write('[');
  }

  async push(json: string): Promise<void> {
    if (this.error) throw this.error;
    const text = this.kind === 'lines' ? `${json}\n` : `${this.count === 0 ? '\n' : ',\n'}${json}`;
    this.count += 1;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.kind === 'array') this.stream.write(this.count === 0 ? ']\n' : '\n]\n');
    if (this.error) throw this.error;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

export type ParquetMessage =
  | { type: 'open'; seq: number; part: number; file: string; schema: object[]; columns: string[]; createdBy: string }
  | { type: 'rows'; seq: number; part: number; rows: Record<string, unknown>[] }
  | { type: 'close'; seq: number; part: number };

type Outgoing =
  | Omit<Extract<ParquetMessage, { type: 'open' }>, 'seq'>
  | Omit<Extract<ParquetMessage, { type: 'rows' }>, 'seq'>
  | Omit<Extract<ParquetMessage, { type: 'close' }>, 'seq'>;

/** Parquet files written on one worker thread; at most a few row groups are in flight at a time. */
export class ParquetFiles {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(): void; reject(e: Error): void }>();
  private readonly inFlight: Promise<void>[] = [];
  private readonly rows = new Map<number, Record<string, unknown>[]>();
  private seq = 0;
  private parts = 0;
  private failure: Error | undefined;

  constructor(private readonly createdBy: string) {
    this.worker = startThread(path.join(__dirname, 'parquet-thread.ts'));
    this.worker.on('message', (m: { ack: number; error?: string }) => {
      const w = this.waiting.get(m.ack);
      this.waiting.delete(m.ack);
      if (m.error) this.fail(new Error(`writing Parquet failed: ${m.error}`));
      else w?.resolve();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the Parquet writer thread exited with code ${code}`)));
  }

  async open(file: string, schema: object[], columns: string[]): Promise<number> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const part = ++this.parts;
    this.rows.set(part, []);
    await this.post({ type: 'open', part, file, schema, columns, createdBy: this.createdBy });
    return part;
  }

  async append(part: number, row: Record<string, unknown>): Promise<void> {
    const rows = this.rows.get(part)!;
    rows.push(row);
    if (rows.length >= ROW_GROUP_ROWS) await this.flush(part);
  }

  async close(part: number): Promise<void> {
    await this.flush(part);
    this.rows.delete(part);
    await this.post({ type: 'close', part });
  }

  /** Waits for every file to be written, then stops the thread. */
  async end(): Promise<void> {
    try {
      await Promise.all(this.inFlight.splice(0));
      if (this.failure) throw this.failure;
    } finally {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }

  private async flush(part: number): Promise<void> {
    const rows = this.rows.get(part)!;
    if (rows.length === 0) return;
    this.rows.set(part, []);
    await this.post({ type: 'rows', part, rows });
  }

  private async post(m: Outgoing): Promise<void> {
    if (this.failure) throw this.failure;
    const seq = ++this.seq;
    const done = new Promise<void>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    // Marked handled here; whoever awaits it still sees the failure.
    done.catch(() => undefined);
    this.worker.postMessage({ ...m, seq });
    this.inFlight.push(done);
    // Keep a few messages in flight so encoding overlaps reading, but never an unbounded queue.
    while (this.inFlight.length > 4) await this.inFlight.shift();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }
}
