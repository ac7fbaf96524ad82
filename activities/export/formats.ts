/**
 * The export formats and the files each writes. Every record goes to its set's combined file,
 * to its set-and-split file, and (SFT) to its task's file, in every chosen format:
 *
 * - `llava-json`: LLaVA/Bunny conversation JSON; the combined sets at the top (`pretrain.json`,
 *   `sft.json`), the rest under `llava/` (`sft-train.json`, `coarse.json`, …).
 * - `llava-jsonl`: the same records as JSON Lines under `llava-jsonl/`.
 * - `sharegpt`: ShareGPT-style `{ conversations, images }` under `sharegpt/`.
 * - `hf-jsonl`, `hf-parquet`: flat rows (one column per field) that Hugging Face `datasets`
 *   loads as they are, as `hf/<jsonl|parquet>/<config>/<split>.<ext>`; a config is a set or an
 *   SFT task, so each config's splits are its per-split files and together its combined set.
 *
 * Image paths are relative to the export folder in every format.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { BoxFormat, ExportFormat } from '../../config/build-input';
import type { Taxonomy } from '../../config/assets';
import { renderBox, rewriteAnswerBoxes, type Box } from './boxes';
import { classOf, splitOf, type ExportRecord } from './records';
import { ParquetFiles, TextFile } from './sinks';

/** A record as the formats see it: answer and box already in the chosen box notation. */
export interface RenderedRecord {
  r: ExportRecord;
  image: string;
  question: string;
  answer: string;
  box: Box | null;
}

export function renderRecord(r: ExportRecord, image: string, boxFormat: BoxFormat): RenderedRecord {
  const size = { width: r.image.width, height: r.image.height };
  return {
    r,
    image,
    question: r.question ?? '',
    answer: rewriteAnswerBoxes(r.answer ?? '', boxFormat, size),
    box: r.box ? renderBox(r.box, boxFormat, size) : null,
  };
}

/** The parts a record belongs to: its set, its set and split, and for SFT its task. */
export function partsOf(r: ExportRecord): string[] {
  const parts = [r.set, `${r.set}-${splitOf(r)}`];
  if (r.set !== r.task) parts.push(r.task);
  return parts;
}

/** The Hugging Face configs a record belongs to: its set, and for SFT its task. */
export const configsOf = (r: ExportRecord): string[] => (r.set === r.task ? [r.set] : [r.set, r.task]);

const llava = (x: RenderedRecord) => ({
  id: x.r.id,
  image: x.image,
  conversations: [
    { from: 'human', value: `<image>\n${x.question}` },
    { from: 'gpt', value: x.answer },
  ],
  ...(x.box ? { box: x.box } : {}),
});

const sharegpt = (x: RenderedRecord) => ({
  id: x.r.id,
  conversations: [
    { from: 'human', value: `<image>\n${x.question}` },
    { from: 'gpt', value: x.answer },
  ],
  images: [x.image],
  ...(x.box ? { box: x.box } : {}),
});

export function hfRow(x: RenderedRecord, taxonomy: Taxonomy, boxFormat: BoxFormat): Record<string, unknown> {
  const cls = classOf(x.r);
  const attack = taxonomy.classes.find((c) => c.name === cls)?.attack;
  return {
    id: x.r.id,
    image: x.image,
    set: x.r.set,
    task: x.r.task,
    class: cls,
    label: attack === undefined ? null : attack ? 'attack' : 'bona fide',
    split: splitOf(x.r),
    question: x.question,
    answer: x.answer,
    box: x.box,
    box_format: x.box ? boxFormat : null,
    source: x.r.image.source,
    licence: x.r.image.licence,
    origin: x.r.origin,
    parent_id: x.r.parentId,
    model: x.r.model,
    prompt_version: x.r.promptVersion,
    clip_score: x.r.clipScore,
  };
}

const str = (name: string, required = false) => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
});

/** The Parquet schema of `hfRow`, column for column. */
export const HF_COLUMNS = [
  'id',
  'image',
  'set',
  'task',
  'class',
  'label',
  'split',
  'question',
  'answer',
  'box',
  'box_format',
  'source',
  'licence',
  'origin',
  'parent_id',
  'model',
  'prompt_version',
  'clip_score',
];
const HF_SCHEMA: object[] = [
  { name: 'schema', num_children: HF_COLUMNS.length },
  ...['id', 'image', 'set', 'task', 'class'].map((n) => str(n, true)),
  ...['label', 'split', 'question', 'answer'].map((n) => str(n)),
  { name: 'box', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  ...['box_format', 'source', 'licence', 'origin', 'parent_id', 'model', 'prompt_version'].map((n) => str(n)),
  { name: 'clip_score', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
];

/** Relative path of one part's file in one format. */
export function fileOf(format: ExportFormat, part: string, split?: string): string {
  switch (format) {
    case 'llava-json':
      return part === 'pretrain' || part === 'sft' ? `${part}.json` : `llava/${part}.json`;
    case 'llava-jsonl':
      return `llava-jsonl/${part}.jsonl`;
    case 'sharegpt':
      return `sharegpt/${part}.json`;
    case 'hf-jsonl':
      return `hf/jsonl/${part}/${split}.jsonl`;
    case 'hf-parquet':
      return `hf/parquet/${part}/${split}.parquet`;
  }
}

/** Where Hugging Face rows wait for Parquet conversion when `hf-jsonl` is not itself exported. */
const HF_ROWS_SCRATCH = '.hf-rows';

/**
 * Writes rendered records to every file of the chosen formats, opening each file on first use.
 * Parquet is written last, from the Hugging Face JSON Lines files read back a row group at a time,
 * so no row waits in memory for its file's row group to fill while the records stream.
 */
export class FormatWriters {
  private readonly text = new Map<string, TextFile>();
  /** Hugging Face rows files, by config and split. */
  private readonly hfRows = new Map<string, { config: string; split: string; file: TextFile }>();
  private readonly hfJsonl: boolean;
  private readonly hfParquet: boolean;

  constructor(
    private readonly dir: string,
    private readonly formats: readonly ExportFormat[],
    private readonly taxonomy: Taxonomy,
    private readonly boxFormat: BoxFormat,
    private readonly createdBy: string,
  ) {
    this.hfJsonl = formats.includes('hf-jsonl');
    this.hfParquet = formats.includes('hf-parquet');
    // The combined sets exist even when empty, so a loader pointed at them always finds a file.
    for (const set of ['pretrain', 'sft']) {
      for (const f of formats) if (f === 'llava-json' || f === 'llava-jsonl' || f === 'sharegpt') this.textFile(f, set);
    }
  }

  async write(x: RenderedRecord): Promise<void> {
    const parts = partsOf(x.r);
    const llavaJson =
      this.formats.includes('llava-json') || this.formats.includes('llava-jsonl') ? JSON.stringify(llava(x)) : '';
    const shareJson = this.formats.includes('sharegpt') ? JSON.stringify(sharegpt(x)) : '';
    for (const part of parts) {
      if (this.formats.includes('llava-json')) await this.textFile('llava-json', part).push(llavaJson);
      if (this.formats.includes('llava-jsonl')) await this.textFile('llava-jsonl', part).push(llavaJson);
      if (shareJson) await this.textFile('sharegpt', part).push(shareJson);
    }
    if (this.hfJsonl || this.hfParquet) {
      const json = JSON.stringify(hfRow(x, this.taxonomy, this.boxFormat));
      for (const config of configsOf(x.r)) await this.hfRowsFile(config, splitOf(x.r)).push(json);
    }
  }

  /** Closes every file and writes the Parquet files; returns the relative paths written, by format. */
  async close(): Promise<Record<string, string[]>> {
    const written: Record<string, string[]> = {};
    const note = (format: string, rel: string) => (written[format] ??= []).push(rel);
    for (const [key, file] of this.text) {
      await file.close();
      note(key.split('\u0000')[0]!, path.relative(this.dir, file.file));
    }
    for (const { file } of this.hfRows.values()) {
      await file.close();
      if (this.hfJsonl) note('hf-jsonl', path.relative(this.dir, file.file));
    }
    if (this.hfParquet) {
      const parquet = new ParquetFiles(this.createdBy);
      try {
        for (const { config, split, file } of this.hfRows.values()) {
          const rel = fileOf('hf-parquet', config, split);
          const part = await parquet.open(path.join(this.dir, rel), HF_SCHEMA, HF_COLUMNS);
          const lines = readline.createInterface({ input: fs.createReadStream(file.file), crlfDelay: Infinity });
          for await (const line of lines)
            if (line) await parquet.append(part, JSON.parse(line) as Record<string, unknown>);
          await parquet.close(part);
          note('hf-parquet', rel);
        }
      } finally {
        await parquet.end();
      }
      if (!this.hfJsonl) await fsp.rm(path.join(this.dir, HF_ROWS_SCRATCH), { recursive: true, force: true });
    }
    for (const list of Object.values(written)) list.sort();
    return written;
  }

  private textFile(format: ExportFormat, part: string, split?: string): TextFile {
    const key = `${format}\u0000${part}\u0000${split ?? ''}`;
    let file = this.text.get(key);
    if (!file) {
      const kind = format === 'llava-jsonl' ? 'lines' : 'array';
      file = new TextFile(path.join(this.dir, fileOf(format, part, split)), kind);
      this.text.set(key, file);
    }
    return file;
  }

  private hfRowsFile(config: string, split: string): TextFile {
    const key = `${config}/${split}`;
    let entry = this.hfRows.get(key);
    if (!entry) {
      const rel = this.hfJsonl ? fileOf('hf-jsonl', config, split) : `${HF_ROWS_SCRATCH}/${config}/${split}.jsonl`;
      entry = { config, split, file: new TextFile(path.join(this.dir, rel), 'lines') };
      this.hfRows.set(key, entry);
    }
    return entry.file;
  }
}
