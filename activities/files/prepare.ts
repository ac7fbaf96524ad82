/**
 * Build preparation: validates the raw input (every default applied), refuses relative paths
 * (a worker's current folder is no base for them), checks that each source is where it says, and
 * records the build. Bad input fails here, before any work,
 * with a message naming each bad field.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { BuildInputError, parseBuildInput, type BuildInput } from '../../config/build-input';
import type { FasforgeEnv } from '../../config/env';
import type { Db } from '../../db/client';
import { builds } from '../../db/schema';
import type { PrepareBuildInput, PreparedBuild } from '../contracts';

export async function prepareBuild(
  db: Db,
  env: FasforgeEnv,
  { buildId, raw }: PrepareBuildInput,
): Promise<PreparedBuild> {
  let input;
  try {
    input = parseBuildInput(raw);
  } catch (err) {
    if (err instanceof BuildInputError) {
      throw ApplicationFailure.nonRetryable(`build ${buildId}: bad build input: ${err.message}`, 'BuildInputError');
    }
    throw err;
  }
  const relative = relativePaths(input);
  if (relative.length) {
    throw ApplicationFailure.nonRetryable(
      `build ${buildId}: bad build input: ${relative.map(([field, p]) => `${field}: "${p}" is a relative path`).join('; ')}; ` +
        'a worker would resolve it against its own current folder, so write an absolute path ' +
        "(or start the build with `fasforge build start <file>`, which resolves paths against the build file's folder)",
      'BuildInputError',
    );
  }
  // Absolute already; resolving only normalises (`/data/a/../b` → `/data/b`).
  const abs = (p: string) => path.resolve(p);
  input.sources = input.sources.map((s) => ({
    ...s,
    root: abs(s.root),
    spoofRegions: s.spoofRegions && abs(s.spoofRegions),
    manifestRoot: s.manifestRoot && abs(s.manifestRoot),
  }));
  for (const s of input.sources) {
    for (const [what, p] of [
      ['root', s.root],
      ['spoofRegions', s.spoofRegions],
    ] as const) {
      const stat = p ? await fs.stat(p).catch(() => undefined) : undefined;
      if (p && !stat) {
        throw ApplicationFailure.nonRetryable(
          `build ${buildId}: source "${s.name}": ${what} ${p} does not exist`,
          'SourceError',
        );
      }
      const manifest = s.adapter === 'manifest';
      if (stat && what === 'root' && stat.isDirectory() === manifest) {
        throw ApplicationFailure.nonRetryable(
          `build ${buildId}: source "${s.name}": root ${p} is ${manifest ? 'a folder; a manifest source names its CSV or JSONL file' : 'not a folder'}`,
          'SourceError',
        );
      }
    }
  }
  const names = input.sources.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw ApplicationFailure.nonRetryable(`build ${buildId}: two sources are named "${dup}"`, 'BuildInputError');

  const exportDir = abs(input.export.dir ?? path.join(env.home, 'exports', buildId.replace(/[^A-Za-z0-9_.-]/g, '_')));
  const exportStat = await fs.stat(exportDir).catch(() => undefined);
  if (exportStat && !exportStat.isDirectory()) {
    throw ApplicationFailure.nonRetryable(
      `build ${buildId}: export.dir ${exportDir} exists and is not a folder`,
      'BuildInputError',
    );
  }
  const models = { vision: input.generation.model ?? env.vision.model, text: input.sft.model ?? env.text.model };
  await db
    .insert(builds)
    .values({ id: buildId, config: input })
    .onConflictDoUpdate({ target: builds.id, set: { config: input, updatedAt: new Date() } });
  return { input, exportDir, models };
}

/** Every path field of the input that is not absolute, as `[field, value]`. */
export function relativePaths(input: BuildInput): [string, string][] {
  const fields: [string, string | undefined][] = [
    ...input.sources.flatMap((s, i): [string, string | undefined][] => [
      [`sources.${i}.root`, s.root],
      [`sources.${i}.spoofRegions`, s.spoofRegions],
      [`sources.${i}.manifestRoot`, s.manifestRoot],
    ]),
    ['export.dir', input.export?.dir],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined && !path.isAbsolute(f[1]));
}
