/**
 * The manifest adapter, for any source without an adapter of its own: a CSV (with a header row)
 * or JSONL file with `path` and `label`, and optionally `attack_type`, `subject`, `split`, `box`
 * (spoof region, corners `x1 y1 x2 y2`) and `face_box`. Paths are relative to the manifest's
 * folder (or `manifestRoot`) and must stay inside it; any other column is kept as metadata.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  kindOf,
  resolveInside,
  SourceLayoutError,
  toPosix,
  type Box,
  type SourceEntry,
  type Split,
} from './source-entry';

const KNOWN = new Set(['path', 'label', 'attack_type', 'subject', 'split', 'box', 'face_box']);
const SPLITS: Record<string, Split> = {
  train: 'train',
  val: 'val',
  valid: 'val',
  dev: 'val',
  test: 'test',
  eval: 'test',
};

export async function listManifest(file: string, manifestRoot?: string): Promise<SourceEntry[]> {
  const text = await fs.readFile(file, 'utf8').catch((err: Error) => {
    throw new SourceLayoutError(`manifest ${file} cannot be read: ${err.message}`);
  });
  const rows = isJsonl(file, text) ? parseJsonl(file, text) : parseCsv(file, text);
  const root = path.resolve(manifestRoot ?? path.dirname(file));
  const seen = new Map<string, number>();
  const entries: SourceEntry[] = [];
  for (const [i, row] of rows.entries()) {
    const where = `${path.basename(file)} row ${i + 1}`;
    const given = str(row.path);
    const label = str(row.label);
    if (!given || !label) {
      throw new SourceLayoutError(`${where} has no ${given ? 'label' : 'path'}; every row needs "path" and "label"`);
    }
    const attack = str(row.attack_type);
    const inside = await resolveInside(root, root, given);
    const rel = inside.ok ? toPosix(path.relative(root, inside.abs)) : given;
    const n = (seen.get(rel) ?? 0) + 1;
    seen.set(rel, n);
    const metadata: Record<string, unknown> = { manifestRow: i + 1, label };
    for (const [k, v] of Object.entries(row)) if (!KNOWN.has(k) && v !== '' && v !== undefined) metadata[k] = v;
    const split = str(row.split)?.toLowerCase();
    const spoofBox = parseBox(row.box, 'box');
    const faceBox = parseBox(row.face_box, 'face_box');
    const badBox = [spoofBox, faceBox].find((b) => typeof b === 'string');
    entries.push({
      relPath: n === 1 ? rel : `${rel}#row${i + 1}`,
      file: inside.ok ? inside.abs : undefined,
      kind: kindOf(given),
      nativeCode: attack && !/^(live|real|bona ?fide|genuine)$/i.test(label) ? attack : label,
      subject: str(row.subject) ?? null,
      metadata,
      spoofBox: typeof spoofBox === 'string' ? undefined : spoofBox,
      faceBox: typeof faceBox === 'string' ? undefined : faceBox,
      protocolSplit: split ? SPLITS[split] : undefined,
      excluded: !inside.ok
        ? { reason: inside.reason, detail: inside.detail }
        : n > 1
          ? { reason: 'duplicate_manifest_entry', detail: `${where} repeats ${rel}, listed earlier` }
          : badBox
            ? { reason: 'bad_box', detail: `${where}: ${badBox}` }
            : undefined,
    });
  }
  return entries;
}

type Row = Record<string, unknown>;

const isJsonl = (file: string, text: string) => /\.(jsonl|ndjson)$/i.test(file) || text.trimStart().startsWith('{');

function parseJsonl(file: string, text: string): Row[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line !== '')
    .map(([line, n]) => {
      try {
        const row = JSON.parse(line) as Row;
        return normaliseKeys(row);
      } catch (err) {
        throw new SourceLayoutError(`manifest ${file} line ${n} is not JSON: ${(err as Error).message}`);
      }
    });
}

function parseCsv(file: string, text: string): Row[] {
  let rows: Row[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new SourceLayoutError(`manifest ${file} is not valid CSV: ${(err as Error).message}`);
  }
  const columns = Object.keys(normaliseKeys(rows[0] ?? {}));
  for (const need of ['path', 'label']) {
    if (rows.length > 0 && !columns.includes(need)) {
      throw new SourceLayoutError(`manifest ${file} has no "${need}" column; its header is: ${columns.join(', ')}`);
    }
  }
  return rows.map(normaliseKeys);
}

/** `attackType`, `Attack Type` and `attack-type` all become `attack_type`. */
function normaliseKeys(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    out[
      k
        .replace(/([a-z])([A-Z])/g, '$1_$2')
        .replace(/[\s-]+/g, '_')
        .toLowerCase()
    ] = v;
  }
  return out;
}

const str = (v: unknown) => (v === undefined || v === null || String(v).trim() === '' ? undefined : String(v).trim());

/** The box, or what is wrong with it. */
function parseBox(v: unknown, column: string): Box | string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const nums = Array.isArray(v)
    ? v.map(Number)
    : String(v)
        .replace(/[[\]]/g, '')
        .split(/[\s,;]+/)
        .filter(Boolean)
        .map(Number);
  if (nums.length !== 4 || nums.some((x) => !Number.isFinite(x)) || nums[2]! <= nums[0]! || nums[3]! <= nums[1]!) {
    return `${column} "${String(v)}" is not four corners x1 y1 x2 y2 with x2 > x1 and y2 > y1`;
  }
  return nums as Box;
}
