/**
 * The export: dataset files in every chosen format, images, `summary.json`, the dataset card with
 * its charts, and `manifest.json`. It is written into a sibling staging folder and moved into
 * place at the end, so a killed or retried export never leaves a half-written folder behind and a
 * re-export replaces the previous one whole.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Taxonomy } from '../../config/assets';
import { exportSchema, type ExportFormat, type BoxFormat } from '../../config/build-input';
import type { Db } from '../../db/client';
import { buildExports } from '../../db/schema';
import type { ExportInput, FunnelStage } from '../contracts';
import { readFunnel } from '../database/funnel';
import { renderCard } from './card';
import { clipChart, countsChart, funnelChart, renderCharts, type ChartSpec } from './charts';
import { writeDataset, type DatasetWritten } from './dataset';
import { codeVersion, DESCRIPTIVE, listFiles, versionId, withoutLocalPaths, type FileEntry } from './manifest';
import { clipScoreStats } from '../clip/score-stats';
import { licences, recordProvenance, reviewStats, servedModels } from './stats';

export { BoxFormatError } from './boxes';
export { MissingImageError } from './images';

export interface ExportOptions {
  formats: readonly ExportFormat[];
  boxFormat: BoxFormat;
  images: 'copy' | 'hardlink';
}

/** Thrown when the export folder cannot be used; the message says what to do. */
export class ExportTargetError extends Error {
  override name = 'ExportTargetError';
}

export interface ExportContext {
  written: DatasetWritten;
  funnel: FunnelStage[];
  versionId: string;
  models: { vision: { requested: string; served: string[] }; text: { requested: string; served: string[] } };
  exportedAt: string;
}

export interface WriteExportArgs {
  input: ExportInput;
  target: string;
  options: ExportOptions;
  taxonomy: Taxonomy;
  versions: { taxonomy: string; prompts: string };
  /** Builds `summary.json`'s content. */
  summarize(ctx: ExportContext): Promise<object>;
  /** Called as records are written, with the count so far. */
  progress?: (written: number) => void;
}

/** The build's export options with every default applied, then `overrides` on top. */
export function resolveExportOptions(config: unknown, overrides: Partial<ExportOptions> = {}): ExportOptions {
  const parsed = exportSchema.parse(config ?? {});
  return {
    formats: overrides.formats ?? parsed.formats,
    boxFormat: overrides.boxFormat ?? parsed.boxFormat,
    images: overrides.images ?? parsed.images,
  };
}

export async function writeExport(db: Db, args: WriteExportArgs): Promise<{ dir: string; ctx: ExportContext }> {
  const { input, target, options } = args;
  const { buildId, prepared } = input;
  await checkTarget(target);
  const staging = `${target}.partial`;
  // Left over from an attempt that was killed: the new export replaces them.
  await fsp.rm(staging, { recursive: true, force: true });
  await fsp.rm(`${target}.previous`, { recursive: true, force: true });
  await fsp.mkdir(staging, { recursive: true });
  let ctx: ExportContext;
  try {
    const code = await codeVersion();
    const written = await writeDataset(db, {
      buildId,
      dir: staging,
      options,
      taxonomy: args.taxonomy,
      createdBy: `${code.package} ${code.version}`,
      progress: args.progress,
    });
    const funnel = await readFunnel(db, buildId);
    const exported = written.counts.pretrain.total + written.counts.sft.total;
    funnel.push({ stage: 'export', in: exported, kept: exported, dropped: {}, failed: {} });

    const models = {
      vision: await servedModels(db, buildId, 'vision', prepared.models.vision),
      text: await servedModels(db, buildId, 'text', prepared.models.text),
    };
    const provenance = await recordProvenance(db, buildId);
    const config = withoutLocalPaths(prepared.input);
    const identity = {
      config,
      options,
      versions: { ...args.versions, promptVersions: provenance.promptVersions },
      models: {
        vision: models.vision.served,
        text: models.text.served,
        records: provenance.models,
        clip: input.clipModel ?? null,
      },
    };
    const dataFiles = await listFiles(staging, DESCRIPTIVE);
    const id = versionId(identity, dataFiles);
    ctx = { written, funnel, versionId: id, models, exportedAt: new Date().toISOString() };

    const summary = await args.summarize(ctx);
    await fsp.writeFile(path.join(staging, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

    const clip = await clipScoreStats(db, buildId);
    const threshold = clip.threshold ? clip.threshold.threshold : prepared.input.clip.threshold;
    const charts: ChartSpec[] = [countsChart(written.cells), funnelChart(funnel)];
    if (clip.all.scores) charts.push(clipChart(clip, threshold));
    const svgs = await renderCharts(charts);
    await fsp.mkdir(path.join(staging, 'charts'), { recursive: true });
    for (const ch of charts) await fsp.writeFile(path.join(staging, 'charts', `${ch.name}.svg`), svgs[ch.name]!);

    const card = renderCard({
      buildId,
      name: prepared.input.name,
      versionId: id,
      exportedAt: ctx.exportedAt,
      cells: written.cells,
      totals: { pretrain: written.counts.pretrain.total, sft: written.counts.sft.total },
      funnel,
      clip: { stats: clip, configured: prepared.input.clip.threshold, model: input.clipModel ?? null },
      review: { outcome: input.review, stats: await reviewStats(db, buildId) },
      licences: await licences(db, buildId),
      models: { vision: models.vision.served, text: models.text.served },
      versions: { ...args.versions, promptVersions: provenance.promptVersions },
      code,
      options,
      files: written.files,
      charts: charts.map((ch) => ({ file: `charts/${ch.name}.svg`, title: ch.title })),
    });
    await fsp.writeFile(path.join(staging, 'README.md'), card);

    const described = await listFiles(staging, (rel) => !DESCRIPTIVE(rel) || rel === 'manifest.json');
    const files: FileEntry[] = [...dataFiles, ...described].sort((a, b) => (a.path < b.path ? -1 : 1));
    const manifest = {
      generator: 'fasforge',
      manifestVersion: 1,
      datasetVersion: id,
      datasetVersionCovers:
        'the build config, export options, prompt and taxonomy versions, model ids and every data file; ' +
        'not README.md, charts/ or summary.json',
      buildId,
      name: prepared.input.name,
      exportedAt: ctx.exportedAt,
      code,
      config,
      versions: identity.versions,
      models: { vision: models.vision, text: models.text, clip: input.clipModel ?? null },
      options,
      images: written.images,
      counts: { pretrain: written.counts.pretrain.total, sft: written.counts.sft.total },
      files,
    };
    await fsp.writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    await moveIntoPlace(staging, target);
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  await db.update(buildExports).set({ versionId: ctx.versionId }).where(eq(buildExports.buildId, buildId));
  return { dir: target, ctx };
}

/** Refuses a target that is a file, or a non-empty folder that holds no earlier export. */
async function checkTarget(target: string): Promise<void> {
  const stat = await fsp.stat(target).catch(() => undefined);
  if (!stat) return;
  if (!stat.isDirectory()) throw new ExportTargetError(`the export folder ${target} exists and is not a folder`);
  const entries = await fsp.readdir(target);
  if (entries.length && !entries.includes('manifest.json') && !entries.includes('summary.json')) {
    throw new ExportTargetError(
      `the export folder ${target} is not empty and holds no earlier export; choose an empty or new folder`,
    );
  }
}

/** Replaces `target` with `staging`: the old export is moved aside first and removed last. */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  if (!fs.existsSync(target)) {
    await fsp.rename(staging, target);
    return;
  }
  const previous = `${target}.previous`;
  await fsp.rm(previous, { recursive: true, force: true });
  await fsp.rename(target, previous);
  await fsp.rename(staging, target);
  await fsp.rm(previous, { recursive: true, force: true });
}
