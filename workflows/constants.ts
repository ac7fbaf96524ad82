/**
 * Task queues: `pipeline` runs workflows and database, file and image work; `llm` runs model calls
 * (rate-limited per queue); `clip` runs scoring, the queue a GPU machine's worker serves.
 */
export const TASK_QUEUES = { pipeline: 'pipeline', llm: 'llm', clip: 'clip' } as const;
