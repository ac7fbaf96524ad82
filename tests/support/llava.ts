/**
 * A reader for the LLaVA conversation format as Bunny's loader expects it: a JSON array of
 * `{ id, image, conversations: [{ from: 'human', value: '<image>\n…' }, { from: 'gpt', value }] }`,
 * with `image` relative to the image folder (here, the export folder). `readLlavaJsonl` reads
 * the same records one per line. Both throw on the first malformed record.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface LlavaRecord {
  id: string;
  image: string;
  conversations: { from: string; value: string }[];
}

export function readLlava(dir: string, file: string): LlavaRecord[] {
  const data: unknown = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  if (!Array.isArray(data)) throw new Error(`${file} is not a JSON array`);
  return checkLlava(dir, file, data as LlavaRecord[]);
}

export function readLlavaJsonl(dir: string, file: string): LlavaRecord[] {
  const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
  if (lines.pop() !== '') throw new Error(`${file} does not end with a newline`);
  const data = lines.map((line, i) => {
    try {
      return JSON.parse(line) as LlavaRecord;
    } catch {
      throw new Error(`${file}:${i + 1}: not one JSON object`);
    }
  });
  return checkLlava(dir, file, data);
}

function checkLlava(dir: string, file: string, data: LlavaRecord[]): LlavaRecord[] {
  const ids = new Set<string>();
  for (const [i, r] of data.entries()) {
    const where = `${file}[${i}]`;
    if (typeof r.id !== 'string' || !r.id) throw new Error(`${where}: id missing`);
    if (ids.has(r.id)) throw new Error(`${where}: duplicate id ${r.id}`);
    ids.add(r.id);
    if (typeof r.image !== 'string' || path.isAbsolute(r.image))
      throw new Error(`${where}: image must be a relative path`);
    if (!fs.existsSync(path.join(dir, r.image))) throw new Error(`${where}: image ${r.image} is missing`);
    const [human, gpt, ...rest] = r.conversations ?? [];
    if (!human || !gpt || rest.length) throw new Error(`${where}: expected exactly one human and one gpt turn`);
    if (human.from !== 'human' || !human.value.startsWith('<image>\n') || human.value.length <= 8) {
      throw new Error(`${where}: the human turn must start with "<image>\\n" and ask a question`);
    }
    if (gpt.from !== 'gpt' || !gpt.value.trim()) throw new Error(`${where}: the gpt turn is empty`);
  }
  return data;
}
