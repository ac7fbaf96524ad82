/**
 * `fasforge catalog`: runs ingestion's cataloguing alone — the same code the ingest activity runs,
 * without Temporal and without the database — and prints what would be accepted, by class and
 * split, and every rejection with its path and reason. Like ingest, it fails (after printing the
 * rejections) when no image at all is accepted.
 */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { catalogSources, noImageAccepted, type CatalogRow } from '../activities/files/catalog';
import type { ResolvedSource } from '../activities/files/source-entry';
import { loadAssets } from '../config/assets';
import { parseBuildInput, SOURCE_ADAPTERS, type SourceAdapter } from '../config/build-input';

export interface CatalogReport {
  accepted: number;
  byClass: Record<string, number>;
  bySplit: Record<string, number>;
  rejected: { source: string; path: string; reason: string; detail: string }[];
}

export interface SourceSpec {
  adapter: SourceAdapter;
  root: string;
}

/** `<kind>:<root>`, e.g. `wmca:/data/WMCA` or `manifest:./list.csv`. */
export function parseSourceSpec(value: string, previous: SourceSpec[] = []): SourceSpec[] {
  const cut = value.indexOf(':');
  const adapter = value.slice(0, cut) as SourceAdapter;
  if (cut <= 0 || !SOURCE_ADAPTERS.includes(adapter)) {
    throw new InvalidArgumentError(`use <kind>:<root> with kind one of ${SOURCE_ADAPTERS.join(', ')}`);
  }
  return [...previous, { adapter, root: path.resolve(value.slice(cut + 1)) }];
}

type CatalogFlagOptions = Partial<
  Pick<ResolvedSource, 'frameBudget' | 'split' | 'protocol' | 'maxPixels' | 'minSide' | 'nearDuplicateDistance'>
>;

/** Catalogues the sources; `failure` is set when no image at all was accepted. */
export async function catalogSpecs(
  specs: SourceSpec[],
  options: CatalogFlagOptions = {},
): Promise<{ report: CatalogReport; failure?: Error }> {
  const input = parseBuildInput({
    sources: specs.map((s, i) => ({ name: `${s.adapter}-${i + 1}`, ...s, ...options })),
  });
  const rows = await catalogSources(input.sources, loadAssets().taxonomy);
  return { report: summarise(rows), failure: noImageAccepted(input.sources, rows) };
}

export async function catalogReport(specs: SourceSpec[], options: CatalogFlagOptions = {}): Promise<CatalogReport> {
  return (await catalogSpecs(specs, options)).report;
}

export function summarise(rows: CatalogRow[]): CatalogReport {
  const report: CatalogReport = { accepted: 0, byClass: {}, bySplit: {}, rejected: [] };
  for (const r of rows) {
    if (r.status === 'ok') {
      report.accepted += 1;
      report.byClass[r.className!] = (report.byClass[r.className!] ?? 0) + 1;
      report.bySplit[r.split!] = (report.bySplit[r.split!] ?? 0) + 1;
    } else {
      report.rejected.push({ source: r.source, path: r.relPath, reason: r.reason ?? r.status, detail: r.detail ?? '' });
    }
  }
  return report;
}

export function formatReport(report: CatalogReport): string[] {
  const counts = (o: Record<string, number>) =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const lines = [
    `accepted: ${report.accepted}`,
    `by class: ${counts(report.byClass)}`,
    `by split: ${counts(report.bySplit)}`,
    `rejected: ${report.rejected.length}`,
  ];
  for (const r of report.rejected) lines.push(`  ${r.source}/${r.path}: ${r.reason} (${r.detail})`);
  return lines;
}

interface CatalogFlags {
  source: SourceSpec[];
  frameBudget?: number;
  maxPixels?: number;
  minSide?: number;
  nearDuplicateDistance?: number;
  protocol?: string;
  json: boolean;
}

export function registerCatalogCommand(program: Command): void {
  const positive = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive integer');
    return n;
  };
  program
    .command('catalog')
    .description('catalogue sources without Temporal or the database: accepted counts and every rejection')
    .requiredOption(
      '--source <kind:root>',
      `a source, repeatable; kind is one of ${SOURCE_ADAPTERS.join(', ')} (manifest: root is the manifest file)`,
      parseSourceSpec,
    )
    .option('--frame-budget <n>', 'frames kept per video (default 8)', positive)
    .option('--max-pixels <n>', 'refuse images with more pixels (default 50000000)', positive)
    .option('--min-side <n>', 'refuse images with a shorter side (default 64)', positive)
    .option('--near-duplicate-distance <bits>', 'perceptual-hash distance for near-duplicates; -1 turns it off', Number)
    .option('--protocol <name>', "split by the source's own protocol, e.g. grandtest, Protocol_1, part0")
    .option('--json', 'print one JSON object { accepted, byClass, bySplit, rejected }', false)
    .action(async (o: CatalogFlags) => {
      const { report, failure } = await catalogSpecs(o.source, {
        ...(o.frameBudget ? { frameBudget: o.frameBudget } : {}),
        ...(o.maxPixels ? { maxPixels: o.maxPixels } : {}),
        ...(o.minSide ? { minSide: o.minSide } : {}),
        ...(o.nearDuplicateDistance !== undefined ? { nearDuplicateDistance: o.nearDuplicateDistance } : {}),
        ...(o.protocol ? { split: 'protocol' as const, protocol: o.protocol } : {}),
      });
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else formatReport(report).forEach((l) => console.log(l));
      if (failure) throw failure;
    });
}
