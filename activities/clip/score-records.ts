/**
 * The CLIP filter activity: scores each pretrain description against its image, batch by batch.
 * The raw score is stored on every record. In `absolute` mode each record is judged at once
 * against its threshold; in `top-fraction` mode it only gets its score here, and
 * {@link createApplyClipThreshold} judges all of them once every record is scored.
 *
 * Batch k's results are written while batch k+1 is in inference (and batch k+2 is decoding), so
 * neither the model nor the database waits on the other. Each write is keyed, so a retried
 * activity scores only what is left.
 */
import { sql } from 'drizzle-orm';

import type { Db } from '../../db/client';
import type { ScoreInput, ScoreOutput } from '../contracts';
import { countVerdict, emptyBatch, judgeRecords, recordsAwaiting, type Verdict } from '../database/records';
import { heartbeat } from '../heartbeat';
import { loadOrFail } from './check-model';
import type { ClipScore, ClipScorer } from './scorer';
import { UNCLASSIFIED } from './types';

export function createScoreRecords(db: Db, scorer: () => Promise<ClipScorer>) {
  return async function scoreRecords(input: ScoreInput): Promise<ScoreOutput> {
    const { clip: cfg, buildId } = input;
    const clip = await loadOrFail(buildId, scorer);
    const counts = emptyBatch();
    const awaiting = await recordsAwaiting(db, buildId, input.range, 'clip_filter', { set: 'pretrain' });
    // A record scored by an earlier attempt in top-fraction mode waits for the ranking, unscored again.
    const pending = awaiting.filter(({ record }) => record.clipScore === null);
    counts.alreadyDone = awaiting.length - pending.length;
    const items = pending.map(({ record, image }) => ({ imagePath: image.absPath, text: record.answer ?? '' }));

    const judge = (k: number, s: ClipScore): { id: string; verdict?: Verdict; clipScore?: number } => {
      const { record, image } = pending[k]!;
      if ('error' in s) {
        return {
          id: record.id,
          verdict: { stage: 'clip_filter', verdict: 'failed', reason: s.code, detail: { error: s.error } },
        };
      }
      if (cfg.mode === 'top-fraction') return { id: record.id, clipScore: s.score };
      const threshold = cfg.classThresholds?.[image.className ?? UNCLASSIFIED] ?? cfg.threshold;
      const detail = { score: s.score, threshold, mode: cfg.mode, model: clip.modelId };
      const verdict: Verdict =
        s.score >= threshold
          ? { stage: 'clip_filter', verdict: 'kept', detail }
          : { stage: 'clip_filter', verdict: 'dropped', reason: 'clip_below_threshold', detail };
      return { id: record.id, verdict, clipScore: s.score };
    };

    let writing: Promise<void> = Promise.resolve();
    let done = 0;
    try {
      for await (const batch of clip.scoreBatches(items, cfg.batchSize)) {
        const results = batch.indices.map((k, j) => judge(k, batch.scores[j] as ClipScore));
        const judged = results.filter((r): r is typeof r & { verdict: Verdict } => r.verdict !== undefined);
        const scoredOnly = results.filter((r) => r.verdict === undefined && r.clipScore !== undefined);
        for (const j of judged) countVerdict(counts, j.verdict);
        counts.in += scoredOnly.length;
        // One write in flight, in batch order; its failure surfaces at the next await.
        await writing;
        writing = Promise.all([
          judgeRecords(db, buildId, judged),
          storeScores(db, scoredOnly as { id: string; clipScore: number }[]),
        ]).then(() => undefined);
        writing.catch(() => undefined);
        done += batch.indices.length;
        heartbeat({ done, total: items.length });
      }
    } catch (err) {
      // Keep what was scored before the failure: the retry then scores only the rest.
      await writing.catch(() => undefined);
      throw err;
    }
    await writing;
    return { ...counts, modelId: clip.modelId, standIn: clip.standIn, provider: clip.provider };
  };
}

/** Stores scores on records that wait for the top-fraction ranking (no verdict yet). */
async function storeScores(db: Db, scored: { id: string; clipScore: number }[]): Promise<void> {
  if (scored.length === 0) return;
  const values = sql.join(
    scored.map((s) => sql`(${s.id}, ${s.clipScore}::double precision)`),
    sql`, `,
  );
  await db.execute(sql`update records set clip_score = v.score
                         from (values ${values}) as v(id, score)
                        where records.id = v.id and records.clip_score is null`);
}
