/**
 * `fasforge export <workflow id> --out <dir>`: writes a finished build's export again from the
 * database alone (DATABASE_URL, or the embedded database under FASFORGE_HOME), with no model
 * call and no Temporal worker; options override the build's export config for this run.
 */
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { reexportBuild } from '../activities/files/export';
import { loadAssets } from '../config/assets';
import { BOX_FORMATS, EXPORT_FORMATS, type BoxFormat, type ExportFormat } from '../config/build-input';
import { parseEnv } from '../config/env';
import { openDatabase } from '../db/client';
import { registerDiffCommand } from './diff';

interface ExportCliOptions {
  out: string;
  formats?: ExportFormat[];
  boxFormat?: BoxFormat;
  images?: 'copy' | 'hardlink';
  json: boolean;
}

const formatList = (v: string): ExportFormat[] => {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length || !list.length) {
    throw new InvalidArgumentError(
      `unknown format ${bad.join(', ') || '(none)'}; use a comma list of ${EXPORT_FORMATS.join(', ')}`,
    );
  }
  return [...new Set(list)] as ExportFormat[];
};

export function registerExportCommands(program: Command): void {
  program
    .command('export <workflowId>')
    .description("write a finished build's export again from the database, without models or workers")
    .requiredOption('--out <dir>', 'folder to write (created; an earlier export there is replaced)')
    .option('--formats <list>', `comma list of ${EXPORT_FORMATS.join(', ')} (default: the build's)`, formatList)
    .addOption(new Option('--box-format <format>', "box notation (default: the build's)").choices(BOX_FORMATS))
    .addOption(
      new Option('--images <mode>', "copy or hard-link the images (default: the build's)").choices([
        'copy',
        'hardlink',
      ]),
    )
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nReads DATABASE_URL, or the embedded database under FASFORGE_HOME (stop its workers first).\n' +
        'The dataset version id depends on the data and options only, so the same export gives the same id.',
    )
    .action(async (id: string, o: ExportCliOptions) => {
      const env = parseEnv();
      const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
      try {
        const out = await reexportBuild(database.db, loadAssets(), id, {
          dir: path.resolve(o.out),
          options: { formats: o.formats, boxFormat: o.boxFormat, images: o.images },
          progress: (n) => {
            if (process.stderr.isTTY) process.stderr.write(`\rexporting: ${n} records written`);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        if (o.json) console.log(JSON.stringify(out, null, 2));
        else {
          console.log(`records: ${out.counts.pretrain} pre-training, ${out.counts.sft} SFT`);
          console.log(`dataset version: ${out.datasetVersion}`);
          console.log(`export: ${out.dir}`);
        }
      } finally {
        await database.close();
      }
    });
  registerDiffCommand(program);
}
