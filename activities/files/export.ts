/**
 * The export activity: records the review approval, remembers what the export is made from (so
 * `fasforge export` can write it again from the database alone), and writes the export folder
 * with `activities/export/`: LLaVA/Bunny JSON and JSONL, ShareGPT, Hugging Face JSONL and Parquet,
 * `records.jsonl` (lineage), the images under content-hash names, `summary.json`, the dataset
 * card and `manifest.json`. Records stream page by page, so memory does not grow with the dataset.
 * Paths inside the export are relative to its folder.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import type { PromptSet, Taxonomy } from '../../config/assets';
import type { Db } from '../../db/client';
import { buildExports } from '../../db/schema';
import type { ExportInput, ExportOutput } from '../contracts';
import { recordApproval } from '../database/review';
import {
  BoxFormatError,
  ExportTargetError,
  MissingImageError,
  resolveExportOptions,
  writeExport,
  type ExportOptions,
} from '../export';
import { modelCallTotals } from '../model-api/gateway';
import { costReport } from '../model-api/usage';
import { clipScoreStats } from '../clip/score-stats';

export interface ExportRun {
  /** Write here instead of the build's export folder. */
  dir?: string;
  /** Options on top of the build's `export` config. */
  options?: Partial<ExportOptions>;
  /** A re-export from the database: nothing about the build is written except the new version id. */
  reexport?: boolean;
  /** Asset versions the build was made with (a re-export passes the recorded ones). */
  versions?: { taxonomy: string; prompts: string };
  /** Called as records are written, with the count so far. */
  progress?: (written: number) => void;
}

export async function exportBuild(
  db: Db,
  assets: { taxonomy: Taxonomy; prompts: PromptSet },
  input: ExportInput,
  run: ExportRun = {},
): Promise<ExportOutput> {
  const { buildId, prepared } = input;
  const versions = run.versions ?? { taxonomy: assets.taxonomy.version, prompts: assets.prompts.version };
  if (!run.reexport) {
    if (!('skipped' in input.review)) await recordApproval(db, buildId, input.review.reviewer, input.review.note);
    await db
      .insert(buildExports)
      .values({ buildId, input, versions })
      .onConflictDoUpdate({ target: buildExports.buildId, set: { input, versions, exportedAt: new Date() } });
  }
  const options = resolveExportOptions(prepared.input.export, run.options);
  try {
    const { dir, ctx } = await writeExport(db, {
      input,
      target: run.dir ?? prepared.exportDir,
      options,
      taxonomy: assets.taxonomy,
      versions,
      progress: run.progress,
      summarize: async ({ written, funnel, versionId, models, exportedAt }) => ({
        buildId,
        name: prepared.input.name,
        datasetVersion: versionId,
        models: { ...models, clip: input.clipModel ?? null },
        clipScores: await clipScoreStats(db, buildId),
        versions,
        review: input.review,
        options,
        counts: written.counts,
        images: written.images,
        funnel,
        modelCalls: await modelCallTotals(db, buildId),
        cost: await costReport(db, buildId),
        exportedAt,
      }),
    });
    const counts = { pretrain: ctx.written.counts.pretrain.total, sft: ctx.written.counts.sft.total };
    return { dir, counts, funnel: ctx.funnel, datasetVersion: ctx.versionId };
  } catch (err) {
    if (err instanceof ExportTargetError || err instanceof MissingImageError || err instanceof BoxFormatError) {
      throw ApplicationFailure.nonRetryable(`build ${buildId}: ${err.message}`, 'ExportError');
    }
    throw err;
  }
}

/** Thrown by `reexportBuild` when the database cannot give what a re-export needs. */
export class ReexportError extends Error {
  override name = 'ReexportError';
}

/**
 * Writes a finished build's export again from the database alone: no model, no Temporal.
 * The build must have reached export once, which recorded its export input.
 */
export async function reexportBuild(
  db: Db,
  assets: { taxonomy: Taxonomy; prompts: PromptSet },
  buildId: string,
  run: { dir: string; options?: Partial<ExportOptions>; progress?: (written: number) => void },
): Promise<ExportOutput> {
  const [row] = await db.select().from(buildExports).where(eq(buildExports.buildId, buildId));
  if (!row) {
    const known = await db.query.builds.findFirst({ where: (b, { eq: is }) => is(b.id, buildId) });
    throw new ReexportError(
      known
        ? `build ${buildId} has not reached export yet; wait for it to finish (fasforge build status ${buildId})`
        : `no build ${buildId} in this database; check DATABASE_URL or FASFORGE_HOME`,
    );
  }
  return exportBuild(db, assets, row.input as ExportInput, { ...run, reexport: true, versions: row.versions });
}
