/**
 * The human review gate of a build: it lists the records under review (all active ones, or a
 * seeded sample per class), takes reviewers' decisions from the `submitReviewDecisions` update
 * and the `reviewDecisions` signal, answers `reviewProgress`, and opens on `approveReview` or on
 * its timeout policy. Every decision is checked against the gate's own list before it is
 * persisted; a refused update changes nothing, a signal's bad entries are logged and counted.
 * The decision handlers are in `review-intake.ts`, the records and decisions in `review-ledger.ts`.
 */
import { ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ExportInput, PipelineActivities, ResolvedBuildInput } from '../activities/contracts';
import { emptyCounts } from './batches';
import { TASK_QUEUES } from './constants';
import {
  approveReviewSignal,
  reviewItemsUpdate,
  reviewProgressQuery,
  type ApproveReview,
  type ReviewDecision,
  type ReviewDecisionBatch,
  type ReviewItemsPageResult,
  type ReviewPageRequest,
  type ReviewProgress,
  type StageProgress,
} from './messages';
import { batchError, checkDecisions, type CheckedBatch } from './review-decisions';
import { registerDecisionHandlers } from './review-intake';
import { ReviewLedger } from './review-ledger';
import { durationMs, pageError, pageOf, pct } from './review-rules';

const pipeline = proxyActivities<PipelineActivities>({
  taskQueue: TASK_QUEUES.pipeline,
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const LIST_PAGE = 2000;

type ReviewConfig = ResolvedBuildInput['review'];

export class ReviewGate {
  readonly ledger = new ReviewLedger();
  private waiting = false;
  private released = false;
  /** The gate has stopped taking decisions (it opened, or its timeout fired). */
  private passed = false;
  private blocked: string | undefined;
  private approval: ApproveReview | undefined;
  private inFlight = 0;
  private config: ReviewConfig | undefined;
  private stage: StageProgress | undefined;

  /** Registers the gate's message handlers; call at the start of the workflow. */
  constructor(readonly buildId: string) {
    setHandler(reviewProgressQuery, (page) => this.progress(page));
    setHandler(approveReviewSignal, (a) => this.approve(a));
    setHandler(reviewItemsUpdate, (page) => this.itemsWithText(page), {
      validator: (page) => {
        const refuse = (message: string) =>
          ApplicationFailure.create({ type: 'ReviewItemsRefused', message, nonRetryable: true });
        if (!this.waiting)
          throw refuse(
            this.passed
              ? `build ${buildId} has passed its review gate; nothing awaits review`
              : `build ${buildId} is not at its review gate yet`,
          );
        const bad = pageError(page);
        if (bad) throw refuse(bad);
      },
    });
    registerDecisionHandlers(this);
  }

  /** Waits at the gate until approval or the timeout policy opens it; returns what export records. */
  async run(config: ReviewConfig, stage: StageProgress): Promise<ExportInput['review']> {
    this.config = config;
    this.stage = stage;
    const sample = config.sample ? { perClass: config.sample.perClass, seed: config.sample.seed } : undefined;
    for (let after = 0; ;) {
      const page = await pipeline.listReviewItems({ buildId: this.buildId, afterSeq: after, limit: LIST_PAGE, sample });
      this.ledger.add(page.items);
      if (page.nextAfterSeq === undefined) break;
      after = page.nextAfterSeq;
    }
    const { items, counts } = this.ledger;
    stage.counts = { ...emptyCounts(), in: items.size };
    this.waiting = true;
    this.blocked = undefined;
    log.info('review gate open', { buildId: this.buildId, records: items.size, sampled: sample !== undefined });

    const { action, after, remindEvery } = config.timeout;
    const startedAt = Date.now();
    const deadline = after ? startedAt + durationMs(after) : Number.POSITIVE_INFINITY;
    const opened = () => this.approval !== undefined && this.inFlight === 0;
    let timedOut = false;
    while (!opened()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        timedOut = true;
        break;
      }
      if (await condition(opened, Math.min(durationMs(remindEvery), left))) break;
      if (Date.now() < deadline) {
        log.warn('review reminder: the build is waiting for reviewers', {
          buildId: this.buildId,
          pending: this.pendingCount(),
          waitingMinutes: Math.round((Date.now() - startedAt) / 60_000),
          blocked: this.blocked,
        });
      }
    }
    await condition(() => this.inFlight === 0);
    this.waiting = false;
    delete stage.blocked;
    this.passed = true;
    const kept = counts.approve + counts.revise;
    const rejected = { ...(counts.reject ? { rejected_by_reviewer: counts.reject } : {}) };

    if (timedOut && action === 'fail') {
      const why = this.blocked ? ` (${this.blocked})` : '';
      throw ApplicationFailure.nonRetryable(
        `the review was not approved within ${after}${why}: ${this.pendingCount()} records still await review`,
        'ReviewTimedOut',
      );
    }
    if (timedOut) {
      const { dropped } = await pipeline.dropUnreviewed({ buildId: this.buildId });
      this.released = true;
      Object.assign(stage, { state: 'done', batchesDone: 1 });
      stage.counts = { ...stage.counts, kept, dropped: { ...rejected, ...(dropped ? { unreviewed: dropped } : {}) } };
      const note = `released by the timeout policy after ${after}: ${kept} reviewed records kept, ${dropped} unreviewed dropped`;
      log.warn('review gate released by timeout', { buildId: this.buildId, kept, dropped });
      return { reviewer: 'review timeout policy', note, approvedAt: new Date().toISOString() };
    }
    this.released = true;
    Object.assign(stage, { state: 'done', batchesDone: 1 });
    stage.counts = { ...stage.counts, kept: items.size - counts.reject, dropped: rejected };
    const approval = this.approval!;
    log.info('review approved', { buildId: this.buildId, reviewer: approval.reviewer });
    return { reviewer: approval.reviewer, note: approval.note, approvedAt: new Date().toISOString() };
  }

  private approve(a: ApproveReview): void {
    const refuse = (reason: string) => {
      this.blocked = reason;
      if (this.stage && this.waiting) this.stage.blocked = reason;
      log.warn('approveReview refused', { buildId: this.buildId, reason });
    };
    if (!this.waiting)
      return refuse(
        this.passed ? 'the review gate has already closed to decisions' : 'the build is not at the review gate yet',
      );
    if (typeof a?.reviewer !== 'string' || a.reviewer.trim() === '')
      return refuse('approveReview needs a non-empty "reviewer"');
    const sample = this.config?.sample;
    if (sample) {
      const pending = this.pendingCount();
      if (pending > 0)
        return refuse(`${pending} sampled records are still undecided; decide them all before approving`);
      const rate = this.ledger.rejectRate;
      if (rate > sample.maxRejectRate) {
        return refuse(
          `the sample's reject rate is ${pct(rate)} (${this.ledger.counts.reject} of ${this.ledger.decided.size}), above the ` +
            `${pct(sample.maxRejectRate)} acceptance threshold, and decisions cannot be changed: the gate stays ` +
            `closed. Cancel the build (npx fasforge build cancel ${this.buildId}) and build again with a ` +
            'different config or sample seed; a build file with review.timeout ' +
            '{"action": "release-approved" or "fail", "after": "7d"} stops waiting by itself',
        );
      }
    }
    this.blocked = undefined;
    if (this.stage) delete this.stage.blocked;
    this.approval = { reviewer: a.reviewer, note: typeof a.note === 'string' ? a.note : undefined };
  }

  /** Marks the decisions in the gate at once (so the next batch sees them), then persists them. */
  async apply(reviewer: string, valid: ReviewDecision[]): Promise<void> {
    if (valid.length === 0) return;
    this.ledger.decide(reviewer, valid);
    this.inFlight += 1;
    this.showDecided();
    try {
      await pipeline.recordReviewDecisions({
        buildId: this.buildId,
        reviewer,
        decisions: valid,
        decidedAt: new Date().toISOString(),
      });
    } catch (err) {
      this.ledger.undo(valid);
      this.showDecided();
      throw err;
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Shows the decisions so far in the build's `progress` while the gate waits. */
  private showDecided(): void {
    if (!this.stage) return;
    const { approve, reject, revise } = this.ledger.counts;
    this.stage.counts = {
      ...this.stage.counts,
      kept: approve + revise,
      dropped: reject ? { rejected_by_reviewer: reject } : {},
    };
  }

  envelopeError(batch: ReviewDecisionBatch): string | undefined {
    if (!this.waiting)
      return this.passed
        ? 'the review gate has already closed to decisions'
        : 'the build is not at the review gate yet';
    return batchError(batch, this.buildId);
  }

  check(batch: ReviewDecisionBatch): CheckedBatch {
    const { items, decided } = this.ledger;
    return checkDecisions(batch, { buildId: this.buildId, items, decided });
  }

  /** Records still awaiting a decision; none once the gate has opened (the approval covered them). */
  private pendingCount(): number {
    return this.released ? 0 : this.ledger.undecided;
  }

  /** A page of the pending records with their text, image and score, read by a pipeline activity. */
  private async itemsWithText(page?: ReviewPageRequest): Promise<ReviewItemsPageResult> {
    const { offset, limit } = pageOf(page);
    const ids = this.ledger.undecidedPage(offset, limit).items.map((item) => item.id);
    const pending = this.pendingCount();
    if (ids.length === 0) return { offset, limit, pending, items: [] };
    const listed = await pipeline.listReviewItems({ buildId: this.buildId, afterSeq: 0, limit: ids.length, ids });
    return { offset, limit, pending, items: listed.items };
  }

  private progress(page?: ReviewPageRequest): ReviewProgress {
    const bad = pageError(page);
    if (bad) throw new Error(bad);
    const { offset, limit } = pageOf(page);
    const { items, bySet } = this.released ? { items: [], bySet: {} } : this.ledger.undecidedPage(offset, limit);
    const { counts, refused } = this.ledger;
    const sample = this.config?.sample;
    return {
      waiting: this.waiting,
      released: this.released,
      pending: this.pendingCount(),
      approved: counts.approve,
      rejected: counts.reject,
      revised: counts.revise,
      bySet,
      total: this.ledger.items.size,
      ...(sample
        ? {
            sample: {
              perClass: sample.perClass,
              size: this.ledger.items.size,
              rejectRate: this.ledger.rejectRate,
              maxRejectRate: sample.maxRejectRate,
            },
          }
        : {}),
      ...(this.blocked ? { blocked: this.blocked } : {}),
      refused: { total: refused.total, recent: [...refused.recent] },
      ...(this.approval ? { reviewer: this.approval.reviewer } : {}),
      page: { offset, limit, items },
    };
  }
}
