/**
 * `fasforge export <workflow id> --out <dir>`: writes a finished build's export again from the
 * database alone (DATABASE_URL, or the embedded database under FASFORGE_HOME), with no model
 * call and no Temporal worker; options override the build's export config for this run.
 */
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { reexportBuild, ReexportError } from '../activities/files/export';
import { loadAssets } from '../config/assets';
import { BOX_FORMATS, EXPORT_FORMATS, type BoxFormat, type ExportFormat } from '../config/build-input';
import { parseEnv } from '../config/env';
import { openDatabase } from '../db/client';
import { resolveTarget, type Target } from './build';
import { registerDiffCommand } from './diff';
import { failureMessage, shortFailure } from './progress';
import { debug } from './verbose';

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
    .action(async (id: string, o: ExportCliOptions, command: Command) => {
      const env = parseEnv();
      const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
      try {
        const out = await reexportBuild(database.db, loadAssets(), id, {
          dir: path.resolve(o.out),
          options: { formats: o.formats, boxFormat: o.boxFormat, images: o.images },
          progress: (n) => {
            if (process.stderr.isTTY) process.stderr.write(`\rexporting: ${n} records written`);
          },
        }).catch(async (err: unknown) => {
          if (!(err instanceof ReexportError)) throw err;
          const g = command.optsWithGlobals<{ address?: string; namespace?: string }>();
          const target = resolveTarget(env, { address: g.address, namespace: g.namespace });
          throw new Error((await closedBuildReason(target, id)) ?? err.message);
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

/**
 * Why a build with no finished export in the database has nothing to export, from Temporal when it
 * can be reached: cancelled, failed (with the reason), terminated, timed out, or still running.
 * Undefined when Temporal cannot be reached or does not know the build.
 */
export async function closedBuildReason(target: Target, id: string): Promise<string | undefined> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: 2000 });
  } catch (err) {
    debug(`Temporal at ${target.address} not reachable for the status of ${id}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    const handle = new Client({ connection, namespace: target.namespace }).workflow.getHandle(id);
    const status = (await handle.describe()).status.name;
    if (status === 'RUNNING')
      return `build ${id} is still running; export it once it has finished (npx fasforge build status ${id} --watch)`;
    if (status === 'CANCELLED') return `build ${id} was cancelled — nothing to export`;
    if (status === 'TERMINATED') return `build ${id} was terminated — nothing to export`;
    if (status === 'TIMED_OUT') return `build ${id} timed out — nothing to export`;
    if (status === 'FAILED') {
      const reason = await handle.result().then(() => 'unknown reason', failureMessage);
      return `build ${id} failed (${shortFailure(reason, 300)}) — nothing to export`;
    }
    return undefined;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) debug(`status of ${id}: ${(err as Error).message}`);
    return undefined;
  } finally {
    await connection.close();
  }
}
