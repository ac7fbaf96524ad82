/**
 * The dataset card, `README.md` in the export: what the dataset holds (records per class, task
 * and split), how it was filtered (the funnel with drop reasons, CLIP scores), who reviewed it,
 * where its images come from and under which licences, and how to load each format. Its front
 * matter is the YAML block the Hugging Face Hub and `datasets` read (written in YAML's JSON-
 * compatible flow style), with one config per set and SFT task.
 */
import type { BoxFormat, ExportFormat } from '../../config/build-input';
import type { ExportInput, FunnelStage } from '../contracts';
import type { CodeVersion } from './manifest';
import type { ClipScoreStats } from '../clip/types';
import type { LicenceRow, ReviewStats } from './stats';

export interface CardInput {
  buildId: string;
  name: string;
  versionId: string;
  exportedAt: string;
  cells: Record<string, Record<string, Record<string, number>>>;
  totals: { pretrain: number; sft: number };
  funnel: FunnelStage[];
  clip: { stats: ClipScoreStats; configured: number; model: ExportInput['clipModel'] | null };
  review: { outcome: ExportInput['review'] | null; stats: ReviewStats };
  licences: LicenceRow[];
  models: { vision: string[]; text: string[] };
  versions: { taxonomy: string; prompts: string; promptVersions: string[] };
  code: CodeVersion;
  options: { formats: readonly ExportFormat[]; boxFormat: BoxFormat; images: 'copy' | 'hardlink' };
  files: Record<string, string[]>;
  charts: { file: string; title: string }[];
}

const SPLIT_ORDER = ['train', 'val', 'test'];
export const sortSplits = (splits: Iterable<string>) =>
  [...new Set(splits)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
const rank = (s: string) => (SPLIT_ORDER.includes(s) ? SPLIT_ORDER.indexOf(s) : SPLIT_ORDER.length);

const BOX_NOTE: Record<BoxFormat, string> = {
  absolute: 'absolute pixel corners `[x1, y1, x2, y2]` as floats, as in the FaceShield paper',
  norm1: 'corners `[x1, y1, x2, y2]` divided by the image width and height (0–1, four decimals)',
  norm1000: 'corners `[x1, y1, x2, y2]` scaled to integers 0–1000 of the image width and height',
};

export function renderCard(c: CardInput): string {
  const out: string[] = [frontMatter(c), ''];
  out.push(`# ${c.name}`, '');
  out.push(
    `A FaceShield-style face anti-spoofing instruction dataset built by fasforge: ${c.totals.pretrain} pre-training ` +
      `image–description pairs and ${c.totals.sft} SFT question–answer pairs.`,
    '',
  );
  out.push('| | |', '|---|---|');
  out.push(`| dataset version | \`${c.versionId}\` |`);
  out.push(`| build | \`${c.buildId}\` |`);
  out.push(`| exported | ${c.exportedAt} |`);
  out.push(`| vision model | ${list(c.models.vision)} |`, `| text model | ${list(c.models.text)} |`);
  out.push(
    `| CLIP model | ${c.clip.model ? `${c.clip.model.modelId}${c.clip.model.standIn ? ' (stand-in, random weights)' : ''}` : 'none'} |`,
  );
  out.push(
    `| prompt templates | ${list(c.versions.promptVersions.length ? c.versions.promptVersions : [c.versions.prompts])} |`,
  );
  out.push(`| taxonomy | ${c.versions.taxonomy} |`);
  out.push(
    `| code | ${c.code.package} ${c.code.version}${c.code.commit ? ` (${c.code.commit.slice(0, 12)}${c.code.dirty ? ', with local changes' : ''})` : ''} |`,
  );
  out.push(`| boxes | ${BOX_NOTE[c.options.boxFormat]} |`, '');
  out.push('`manifest.json` lists every file with its size and sha256.', '');

  out.push(...countsSection(c));
  out.push(...funnelSection(c.funnel));
  out.push(...clipSection(c));
  out.push(...reviewSection(c.review));
  out.push(...licenceSection(c.licences));
  out.push(...filesSection(c));
  if (c.charts.length) {
    out.push('## Charts', '');
    for (const ch of c.charts) out.push(`![${ch.title}](${ch.file})`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function frontMatter(c: CardInput): string {
  const data = c.options.formats.includes('hf-parquet')
    ? 'parquet'
    : c.options.formats.includes('hf-jsonl')
      ? 'jsonl'
      : undefined;
  const lines = ['---', `pretty_name: ${JSON.stringify(c.name)}`];
  lines.push(
    'license: other',
    `license_name: ${JSON.stringify(
      c.licences
        .map((l) => l.licence)
        .filter(uniq)
        .join('; ') || 'unknown',
    )}`,
  );
  lines.push('task_categories: ["visual-question-answering", "image-to-text"]');
  lines.push('tags: ["face-anti-spoofing", "presentation-attack-detection", "llava", "fasforge"]');
  if (data) {
    const prefix = `hf/${data}/`;
    const files = (c.files[`hf-${data}`] ?? []).filter((f) => f.startsWith(prefix));
    const configs = new Map<string, string[]>();
    for (const f of files) {
      const [config, file] = f.slice(prefix.length).split('/');
      configs.set(config!, [...(configs.get(config!) ?? []), file!.replace(/\.[^.]+$/, '')]);
    }
    const entries = [...configs].map(([config, splits]) => ({
      config_name: config,
      data_files: sortSplits(splits).map((split) => ({ split, path: `${prefix}${config}/${split}.${data}` })),
      ...(config === 'sft' ? { default: true } : {}),
    }));
    if (entries.length) lines.push(`configs: ${JSON.stringify(entries)}`);
  }
  lines.push('---');
  return lines.join('\n');
}

function countsSection(c: CardInput): string[] {
  const splits = sortSplits(Object.values(c.cells).flatMap((t) => Object.values(t).flatMap((s) => Object.keys(s))));
  const out = ['## Records per class, task and split', ''];
  out.push(`| class | task | ${splits.join(' | ')} | total |`, `|---|---|${splits.map(() => '---:|').join('')}---:|`);
  const colTotals = splits.map(() => 0);
  for (const cls of Object.keys(c.cells).sort()) {
    for (const task of Object.keys(c.cells[cls]!).sort()) {
      const bySplit = c.cells[cls]![task]!;
      const row = splits.map((s) => bySplit[s] ?? 0);
      row.forEach((n, i) => (colTotals[i]! += n));
      out.push(`| ${cls} | ${task} | ${row.join(' | ')} | ${sum(row)} |`);
    }
  }
  out.push(`| **all** | **all** | ${colTotals.map((n) => `**${n}**`).join(' | ')} | **${sum(colTotals)}** |`, '');
  return out;
}

function funnelSection(funnel: FunnelStage[]): string[] {
  const out = ['## Funnel', '', 'Every item each stage saw, and why it left.', ''];
  out.push('| stage | in | kept | dropped | failed |', '|---|---:|---:|---|---|');
  const reasons = (m: Record<string, number>) =>
    Object.keys(m).length
      ? Object.entries(m)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([r, n]) => `${r}: ${n}`)
          .join(', ')
      : '0';
  for (const s of funnel)
    out.push(`| ${s.stage} | ${s.in} | ${s.kept} | ${reasons(s.dropped)} | ${reasons(s.failed)} |`);
  out.push('');
  return out;
}

function clipSection(c: CardInput): string[] {
  const out = ['## CLIP scores', ''];
  const { stats } = c.clip;
  if (!stats.all.scores) return [...out, 'No record was scored with CLIP in this build.', ''];
  const t = stats.threshold;
  const rule = !t
    ? `records below ${c.clip.configured} were dropped`
    : t.mode === 'top-fraction'
      ? `the top ${(t.keepFraction ?? 0) * 100}% ${t.perClass ? 'of each class ' : ''}were kept`
      : t.threshold !== undefined
        ? `records below ${t.threshold} were dropped`
        : 'each class was held to its own threshold';
  out.push(
    `Cosine similarity between each image and its generated description, for every scored pre-training record; ${rule}.`,
    '',
  );
  out.push(
    '| class | scored | kept | dropped | min | p25 | median | p75 | max | mean | threshold |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const f = (v: number) => v.toFixed(4);
  for (const [cls, s] of Object.entries(stats.byClass)) {
    const d = s.scores;
    if (!d) continue;
    const th = t?.byClass[cls];
    out.push(
      `| ${cls} | ${d.count} | ${s.kept} | ${s.dropped} | ${f(d.min)} | ${f(d.p25)} | ${f(d.median)} | ${f(d.p75)} | ` +
        `${f(d.max)} | ${f(d.mean)} | ${th === undefined ? '—' : f(th)} |`,
    );
  }
  out.push('');
  return out;
}

function reviewSection(r: CardInput['review']): string[] {
  const out = ['## Review', ''];
  const o = r.outcome;
  if (!o || 'skipped' in o) out.push('This build did not wait for a human review before export.', '');
  else out.push(`Released by **${o.reviewer}** on ${o.approvedAt}${o.note ? `: “${o.note}”` : ''}.`, '');
  if (r.stats.decisions === null) out.push('This database keeps no per-record review decisions.', '');
  else if (r.stats.decisions.length === 0) out.push('No per-record review decision was recorded.', '');
  else {
    out.push('| decision | reviewer | records |', '|---|---|---:|');
    for (const d of r.stats.decisions) out.push(`| ${d.decision} | ${d.reviewer} | ${d.n} |`);
    out.push('');
  }
  if (r.stats.verdicts.length) {
    out.push('| review verdict | reason | records |', '|---|---|---:|');
    for (const v of r.stats.verdicts) out.push(`| ${v.verdict} | ${v.reason ?? '—'} | ${v.n} |`);
    out.push('');
  }
  return out;
}

function licenceSection(rows: LicenceRow[]): string[] {
  const out = ['## Sources and licences', ''];
  out.push(
    'The images come from these source datasets and stay under their licences; most face anti-spoofing datasets ' +
      'allow non-commercial research use only under a data-use agreement.',
    '',
  );
  out.push('| source | adapter | licence | images | records |', '|---|---|---|---:|---:|');
  for (const l of rows) out.push(`| ${l.source} | ${l.adapter} | ${l.licence} | ${l.images} | ${l.records} |`);
  out.push('');
  return out;
}

function filesSection(c: CardInput): string[] {
  const out = ['## Files and how to load them', ''];
  out.push(
    'Image paths are relative to this folder; images are stored once under `images/<sha256>.<ext>`' +
      (c.options.images === 'hardlink' ? ' (hard links to the source files where the file system allows)' : '') +
      '. Every format has the combined sets, one file per split and one per SFT task.',
    '',
  );
  const describe: Record<string, string> = {
    'llava-json': 'LLaVA/Bunny conversation JSON (`--data_path sft.json --image_folder <this folder>`)',
    'llava-jsonl': 'the same records as JSON Lines',
    sharegpt: 'ShareGPT style: `conversations` with `from`/`value` and an `images` list',
    'hf-jsonl': 'flat rows for Hugging Face `datasets` (`load_dataset("json", data_files=...)`)',
    'hf-parquet': 'the same flat rows as Parquet (`load_dataset("<this folder>", "sft")` reads the configs above)',
    lineage: 'lineage of every record: source file, native label, class, split, model, prompt version, CLIP score',
  };
  out.push('| format | files | what |', '|---|---:|---|');
  for (const [format, files] of Object.entries(c.files)) {
    const shown =
      files.length <= 3 ? files.map((f) => `\`${f}\``).join(', ') : `${files.length} files, e.g. \`${files[0]}\``;
    out.push(`| ${format} | ${shown} | ${describe[format] ?? ''} |`);
  }
  out.push('');
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const list = (xs: string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join(', ') : '—');
const uniq = <T>(v: T, i: number, a: T[]) => a.indexOf(v) === i;
