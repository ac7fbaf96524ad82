/**
 * Reads a Parquet file with hyparquet, the Parquet reader library. hyparquet is an ES module,
 * which jest's CommonJS runtime cannot load, so the read runs on a worker thread.
 */
import path from 'node:path';
import { runOnThread } from '../../activities/export/thread';

export interface ParquetContents {
  rows: Record<string, unknown>[];
  rowGroups: number;
  numRows: number;
  columns: string[];
}

export function readParquet(file: string): Promise<ParquetContents> {
  return runOnThread<string, ParquetContents>(path.join(__dirname, 'parquet-thread.ts'), file);
}
