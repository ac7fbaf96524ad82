/**
 * The CLIP filter activity: scores each pretrain description against its image and keeps the
 * record when the cosine is at or above the threshold. The raw score is stored on every record.
 */
import type { Db } from '../../db/client';
import type { ScoreInput, ScoreOutput } from '../contracts';
import { countVerdict, emptyBatch, judgeRecords, recordsAwaiting, type Verdict } from '../database/records';
import { heartbeat } from '../heartbeat';
import type { ClipScorer } from './scorer';

export function createScoreRecords(db: Db, scorer: () => Promise<ClipScorer>) {
  return async function scoreRecords(input: ScoreInput): Promise<ScoreOutput> {
    const clip = await scorer();
    const counts = emptyBatch();
    const pending = await recordsAwaiting(db, input.buildId, input.range, 'clip_filter', { set: 'pretrain' });
    // One call per activity lets the scorer decode batch k+1 while batch k runs.
    const scores = await clip.score(
      pending.map(({ record, image }) => ({ imagePath: image.absPath, text: record.answer ?? '' })),
      input.clip.batchSize,
    );
    const judged = pending.map(({ record }, k) => {
      const s = scores[k]!;
      const verdict: Verdict =
        'error' in s
          ? { stage: 'clip_filter', verdict: 'failed', reason: s.code, detail: { error: s.error } }
          : s.score >= input.clip.threshold
            ? { stage: 'clip_filter', verdict: 'kept', detail: { score: s.score, model: clip.modelId } }
            : {
                stage: 'clip_filter',
                verdict: 'dropped',
                reason: 'clip_below_threshold',
                detail: { score: s.score, threshold: input.clip.threshold, model: clip.modelId },
              };
      countVerdict(counts, verdict);
      return { id: record.id, verdict, clipScore: 'error' in s ? undefined : s.score };
    });
    await judgeRecords(db, input.buildId, judged);
    heartbeat({ done: pending.length, total: pending.length });
    return { ...counts, modelId: clip.modelId, standIn: clip.standIn, provider: clip.provider };
  };
}
