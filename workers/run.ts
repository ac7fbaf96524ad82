/**
 * Worker entry point: `fasforge workers [--queue pipeline|llm|clip|all]`. Each queue can run
 * alone, on its own machine; `all` runs the three in one process. Stops cleanly on SIGINT/SIGTERM.
 */
import { type LogLevel, NativeConnection } from '@temporalio/worker';
import { parseEnv } from '../config/env';
import { openDatabase } from '../db/client';
import path from 'node:path';
import { cannotReachMessage, isConnectionError } from '../cli/build';
import { createWorkers, installRuntime, QUEUES, type Queue } from './bootstrap';

export async function runWorkers(queues: Queue[] | 'all', logLevel: LogLevel = 'INFO'): Promise<void> {
  const env = parseEnv();
  installRuntime(logLevel);
  const list = queues === 'all' ? QUEUES : queues;
  if (!env.databaseUrl && list.length < QUEUES.length) {
    throw new Error(
      'workers started for some queues only need a shared DATABASE_URL: the embedded database lives in one process',
    );
  }
  const database = await openDatabase({ url: env.databaseUrl, embeddedDir: path.join(env.home, 'pglite') });
  const address = env.temporalAddress ?? '127.0.0.1:7233';
  const connection = await NativeConnection.connect({ address }).catch(async (err: unknown) => {
    await database.close();
    throw isConnectionError(err) ? new Error(cannotReachMessage(address, err)) : err;
  });
  const workers = await createWorkers({ env, database, connection, queues: list });
  console.log(
    `fasforge workers: ${list.join(', ')} on ${env.temporalAddress ?? '127.0.0.1:7233'} (${env.namespace}), database ${database.location}`,
  );
  if (env.tracing.mode !== 'off') console.log(`tracing: ${env.tracing.mode}`);
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
    await database.close();
  }
}
