/**
 * Reading a build file: JSON, validated with the build input schema before anything starts, with
 * relative paths resolved against the file's own folder so the build runs the same from anywhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseBuildInput, type BuildInput } from '../config/build-input';

export function readBuildFile(file: string): BuildInput {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read build file ${file}: ${(err as Error).message}`);
  }
  const parsed = parseBuildInput(raw);
  const base = path.dirname(path.resolve(file));
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
  const input = raw as BuildInput;
  return {
    ...input,
    sources: parsed.sources.map((s, i) => ({
      ...input.sources[i]!,
      root: abs(s.root)!,
      spoofRegions: abs(s.spoofRegions),
      manifestRoot: abs(s.manifestRoot),
    })),
    ...(input.export?.dir ? { export: { ...input.export, dir: abs(input.export.dir) } } : {}),
  };
}
