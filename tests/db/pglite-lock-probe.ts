/**
 * Run by pglite-lock.test.ts in a child Node process: opens the embedded database in the folder
 * given as argv[2], prints `opened <pid>` and holds it until SIGTERM, then closes it and exits 0.
 * A refused open prints `refused <error name>: <message>` and exits 3.
 */
import { openDatabase } from '../../db/client';

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: pglite-lock-probe.ts <data dir>');
  let database;
  try {
    database = await openDatabase({ embeddedDir: dir });
  } catch (err) {
    process.stdout.write(`refused ${(err as Error).name}: ${(err as Error).message}\n`);
    process.exit(3);
  }
  process.stdout.write(`opened ${process.pid}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await database.close();
  process.stdout.write('closed\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
