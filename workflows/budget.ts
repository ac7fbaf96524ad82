/**
 * The budget pause: when a stage's model calls reach the build's spending cap, the stage fails with
 * `BudgetExhausted`; the build then waits in stage `budget` until a `raiseBudget` signal gives a
 * higher cap, stores it, and runs the stage again. A re-run stage skips the records already
 * stored and the calls already cached, so nothing is paid twice.
 */
import { ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/contracts';
import { emptyCounts } from './batches';
import { TASK_QUEUES } from './constants';
import { budgetQuery, raiseBudgetSignal, type BudgetProgress, type StageProgress } from './messages';

const { setBuildBudget } = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export interface BudgetHooks {
  buildId: string;
  /** Moves the build's stage search attribute; returns nothing. */
  enter(stage: string): void;
  /** The build's current stage, restored after the pause. */
  stage(): string;
  /** Where the pause shows in the build's progress. */
  stages: StageProgress[];
}

export class BudgetGate {
  private offered?: number;
  readonly progress: BudgetProgress = { waiting: false, pauses: 0 };

  constructor(private readonly hooks: BudgetHooks) {
    setHandler(budgetQuery, () => ({ ...this.progress }));
    setHandler(raiseBudgetSignal, (raise) => {
      const maxUsd = Number(raise?.maxUsd);
      if (!this.progress.waiting) {
        log.warn('raiseBudget ignored: the build is not waiting on its budget', { buildId: hooks.buildId });
        return;
      }
      if (!Number.isFinite(maxUsd) || maxUsd <= (this.progress.spentUsd ?? 0)) {
        log.warn('raiseBudget ignored: maxUsd must be a number above what the build has spent', {
          buildId: hooks.buildId,
          maxUsd: raise?.maxUsd,
          spentUsd: this.progress.spentUsd,
        });
        return;
      }
      this.offered = maxUsd;
    });
  }

  /** Runs a stage, pausing on `BudgetExhausted` until the cap is raised, then running it again. */
  async guard<T>(run: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await run();
      } catch (err) {
        const exhausted = budgetFailure(err);
        if (!exhausted) throw err;
        await this.pause(exhausted);
      }
    }
  }

  private async pause(exhausted: { maxUsd?: number; spentUsd?: number }): Promise<void> {
    const { buildId } = this.hooks;
    const resume = this.hooks.stage();
    const step: StageProgress = {
      stage: 'budget',
      state: 'waiting',
      batchesDone: 0,
      batchesTotal: 1,
      counts: emptyCounts(),
    };
    this.hooks.stages.push(step);
    Object.assign(this.progress, { waiting: true, maxUsd: exhausted.maxUsd, spentUsd: exhausted.spentUsd });
    this.progress.pauses += 1;
    this.offered = undefined;
    this.hooks.enter('budget');
    log.warn('build paused: budget reached; signal raiseBudget with {"maxUsd": <new cap>} to go on', {
      buildId,
      ...exhausted,
    });
    await condition(() => this.offered !== undefined);
    const budget = await setBuildBudget({ buildId, maxUsd: this.offered! });
    Object.assign(this.progress, { waiting: false, maxUsd: budget.maxUsd, spentUsd: budget.spentUsd });
    Object.assign(step, { state: 'done', batchesDone: 1 });
    log.info('build resumed with a new budget', { buildId, maxUsd: budget.maxUsd, spentUsd: budget.spentUsd });
    this.hooks.enter(resume);
  }
}

/** The `BudgetExhausted` failure somewhere in an error's cause chain, with its details. */
function budgetFailure(err: unknown): { maxUsd?: number; spentUsd?: number } | undefined {
  for (let e: unknown = err; e instanceof Error; e = (e as Error).cause) {
    if (e instanceof ApplicationFailure && e.type === 'BudgetExhausted') {
      return (e.details?.[0] as { maxUsd?: number; spentUsd?: number } | undefined) ?? {};
    }
  }
  return undefined;
}
