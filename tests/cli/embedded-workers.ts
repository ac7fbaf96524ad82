/**
 * The three workers on the embedded PGlite database, in their own process as `fasforge workers`
 * runs them (jest's VM refuses PGlite's dynamic import, so tests start this with `node --import
 * tsx`). Arguments: FASFORGE_HOME, the model server URL, the Temporal address. It prints
 * `{"ready":…}` once polling; on stdin, `records <build id>` prints that build's active records as
 * one JSON line, and `stop` shuts the workers down, closes the database and exits.
 */
import path from 'node:path';
import readline from 'node:readline';
import { NativeConnection } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { parseEnv } from '../../config/env';
import { openDatabase, queryRows } from '../../db/client';
import { createWorkers, QUEUES } from '../../workers/bootstrap';

async function main(): Promise<void> {
  const [home, modelUrl, address] = process.argv.slice(2) as [string, string, string];
  const env = parseEnv({
    FASFORGE_HOME: home,
    FASFORGE_VISION_BASE_URL: modelUrl,
    FASFORGE_TEXT_BASE_URL: modelUrl,
    TEMPORAL_ADDRESS: address,
  });
  const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(home, 'pglite') });
  const connection = await NativeConnection.connect({ address });
  const workers = await createWorkers({ env, database, connection, queues: QUEUES });
  const running = workers.map((w) => w.run());
  console.log(JSON.stringify({ ready: true, kind: database.kind, databaseUrl: env.databaseUrl ?? null }));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === 'records') {
      const rows = await queryRows(
        database.db,
        sql`select id, question, answer, clip_score from records where build_id = ${arg} and status = 'active'`,
      );
      console.log(JSON.stringify({ records: rows }));
    } else if (command === 'stop') break;
  }
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  await database.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
