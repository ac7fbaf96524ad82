/**
 * A source's own protocol lists: a folder per protocol holding one list per group
 * (`train`, `dev`/`val`/`valid`, `eval`/`test`, `.txt` or `.csv`, optionally `_<fold>`-suffixed).
 * Each line names one video or sample; a field that is only a signed number (OULU's `+1`/`-1`
 * labels) is skipped, since labels always come from the file names, never from these lists.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isWithin, SourceLayoutError, type Split } from './source-entry';

const GROUPS: Record<string, Split> = {
  train: 'train',
  dev: 'val',
  val: 'val',
  valid: 'val',
  eval: 'test',
  test: 'test',
};

/**
 * `protocol` is `<name>` or `<name>/<fold>`; returns video name or stem → split. `builtIn` names
 * protocols the adapter knows without a list (OULU's `users`), named in the error for a bad name.
 */
export async function readProtocolLists(
  root: string,
  folder: string,
  protocol: string | undefined,
  dataset: string,
  builtIn: string[] = [],
): Promise<Map<string, Split>> {
  const base = path.join(root, folder);
  if (!protocol) {
    const have = [...builtIn, ...(await protocolsUnder(base))];
    throw new SourceLayoutError(
      `${dataset} source has "split": "protocol" but no "protocol"; name one of: ${have.join(', ') || `(none under ${base})`}`,
    );
  }
  const [name, fold] = protocol.split('/');
  const dir = path.join(base, name!);
  if (!isWithin(base, dir) || dir === base) {
    throw new SourceLayoutError(`${dataset} protocol "${protocol}" must name a folder inside ${base}`);
  }
  const files = await fs.readdir(dir).catch(() => undefined);
  if (!files) {
    const have = [...builtIn, ...(await protocolsUnder(base))];
    throw new SourceLayoutError(
      `${dataset} protocol "${protocol}" does not exist (no folder ${dir}); protocols present: ${have.join(', ') || `none under ${base}`}`,
    );
  }
  const out = new Map<string, Split>();
  for (const f of files) {
    const m = /^([A-Za-z]+)(?:_(\w+))?\.(txt|csv|lst)$/.exec(f);
    const group = m && GROUPS[m[1]!.toLowerCase()];
    if (!m || !group || (m[2] ?? undefined) !== fold) continue;
    for (const line of (await fs.readFile(path.join(dir, f), 'utf8')).split(/\r?\n/)) {
      const field = line.split(/[,\s]+/).find((x) => x !== '' && !/^[+-]?\d+$/.test(x));
      if (!field || /^(path|file|filename|name)$/i.test(field)) continue;
      const stem = path.basename(field).replace(/\.[A-Za-z0-9]+$/, '');
      const previous = out.get(stem);
      if (previous && previous !== group) {
        throw new SourceLayoutError(`${dataset} protocol "${protocol}" lists ${stem} in both ${previous} and ${group}`);
      }
      out.set(stem, group);
    }
  }
  if (out.size === 0) {
    throw new SourceLayoutError(
      `${dataset} protocol "${protocol}": ${dir} has no train/dev/eval lists${fold ? ` for fold ${fold}` : ''}`,
    );
  }
  return out;
}

/** The protocol folders under `base`, sorted. */
async function protocolsUnder(base: string): Promise<string[]> {
  const entries = await fs.readdir(base, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}
