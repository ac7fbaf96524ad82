/**
 * How reviewers' decisions reach the gate: the `reviewDecisions` signal applies a batch's valid
 * entries and logs and counts the rest; the `submitReviewDecisions` update is validated first and
 * refused whole, naming each bad decision, so a refused update changes nothing.
 */
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import {
  reviewDecisionsSignal,
  submitReviewDecisionsUpdate,
  type ReviewDecision,
  type ReviewDecisionBatch,
} from './messages';
import type { CheckedBatch } from './review-decisions';
import type { ReviewLedger } from './review-ledger';

/** What the handlers need of the gate. */
export interface DecisionIntake {
  readonly buildId: string;
  readonly ledger: ReviewLedger;
  /** Why the batch as a whole is refused (the gate is not waiting, a bad envelope), if it is. */
  envelopeError(batch: ReviewDecisionBatch): string | undefined;
  check(batch: ReviewDecisionBatch): CheckedBatch;
  /** Takes the decisions in the gate and persists them. */
  apply(reviewer: string, valid: ReviewDecision[]): Promise<void>;
}

export function registerDecisionHandlers(gate: DecisionIntake): void {
  setHandler(reviewDecisionsSignal, async (batch) => {
    const envelope = gate.envelopeError(batch);
    const checked = envelope ? undefined : gate.check(batch);
    const refusals = envelope ? [{ id: '(batch)', reason: envelope }] : checked!.refusals;
    if (refusals.length) {
      gate.ledger.noteRefusals(refusals);
      log.warn('reviewDecisions: refused decisions', {
        buildId: gate.buildId,
        refused: refusals.length,
        refusals: refusals.slice(0, 20),
      });
    }
    if (checked?.valid.length) {
      await gate
        .apply(batch.reviewer, checked.valid)
        .catch((err: unknown) =>
          log.error('reviewDecisions: decisions could not be saved', { buildId: gate.buildId, error: String(err) }),
        );
    }
  });
  setHandler(
    submitReviewDecisionsUpdate,
    async (batch) => {
      const checked = gate.check(batch);
      await gate.apply(batch.reviewer, checked.valid);
      return { accepted: checked.valid.length, unchanged: checked.unchanged };
    },
    {
      validator: (batch) => {
        const envelope = gate.envelopeError(batch);
        if (envelope)
          throw ApplicationFailure.create({
            type: 'ReviewDecisionRefused',
            message: envelope,
            details: [[]],
            nonRetryable: true,
          });
        const { refusals } = gate.check(batch);
        if (refusals.length === 0) return;
        const shown = refusals.slice(0, 20).map((r) => `${r.id}: ${r.reason}`);
        const more = refusals.length > shown.length ? `; and ${refusals.length - shown.length} more` : '';
        throw ApplicationFailure.create({
          type: 'ReviewDecisionRefused',
          message: `${refusals.length} of ${batch.decisions.length} decisions refused, none applied: ${shown.join('; ')}${more}`,
          details: [refusals],
          nonRetryable: true,
        });
      },
    },
  );
}
