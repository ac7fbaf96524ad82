/**
 * Workers from the real bootstrap for a test: each set on its own connection to the test Temporal
 * server, running until `stop()` shuts them down and closes that connection.
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createWorkers, type WorkerSetup } from '../../workers/bootstrap';
import { TEMPORAL_ADDRESS } from './env';

export interface RunningWorkers {
  workers: Worker[];
  stop(): Promise<void>;
}

/** Creates the bootstrap's workers for `setup` (on a fresh connection) and starts them. */
export async function runWorkers(setup: Omit<WorkerSetup, 'connection'>): Promise<RunningWorkers> {
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  let workers: Worker[];
  try {
    workers = await createWorkers({ ...setup, connection });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = workers.map((w) => w.run());
  return {
    workers,
    async stop() {
      workers.forEach((w) => w.shutdown());
      await Promise.all(running);
      await connection.close();
    },
  };
}
