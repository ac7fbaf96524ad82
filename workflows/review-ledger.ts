/**
 * What the review gate holds: the records under review, the decisions taken on them, the counts
 * per decision and the refusals seen. Plain state with read-only views, kept apart from the
 * gate's message handling so that each can be read on its own.
 */
import type { ReviewDecision, ReviewItem, ReviewRefusal } from './messages';
import type { Decided } from './review-decisions';

export class ReviewLedger {
  readonly items = new Map<string, ReviewItem>();
  readonly decided = new Map<string, Decided>();
  readonly counts = { approve: 0, reject: 0, revise: 0 };
  readonly refused = { total: 0, recent: [] as ReviewRefusal[] };

  add(items: ReviewItem[]): void {
    for (const item of items) this.items.set(item.id, item);
  }

  /** Marks decisions taken, so the next batch is checked against them. */
  decide(reviewer: string, decisions: ReviewDecision[]): void {
    for (const d of decisions) {
      this.decided.set(d.id, { ...d, reviewer });
      this.counts[d.decision] += 1;
    }
  }

  /** Takes back decisions whose persisting failed. */
  undo(decisions: ReviewDecision[]): void {
    for (const d of decisions) {
      this.decided.delete(d.id);
      this.counts[d.decision] -= 1;
    }
  }

  noteRefusals(refusals: ReviewRefusal[]): void {
    this.refused.total += refusals.length;
    this.refused.recent = [...this.refused.recent, ...refusals].slice(-20);
  }

  /** Records still awaiting a decision. */
  get undecided(): number {
    return this.items.size - this.decided.size;
  }

  get rejectRate(): number {
    return this.decided.size ? this.counts.reject / this.decided.size : 0;
  }

  /** The undecided records from `offset`, at most `limit`, and how many undecided there are per set. */
  undecidedPage(offset: number, limit: number): { items: ReviewItem[]; bySet: Record<string, number> } {
    const items: ReviewItem[] = [];
    const bySet: Record<string, number> = {};
    let index = 0;
    for (const item of this.items.values()) {
      if (this.decided.has(item.id)) continue;
      bySet[item.set] = (bySet[item.set] ?? 0) + 1;
      if (index >= offset && items.length < limit) items.push(item);
      index += 1;
    }
    return { items, bySet };
  }
}
