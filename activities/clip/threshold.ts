/**
 * The top-fraction CLIP filter (as DataComp filters by CLIP score): once every pretrain
 * description of a build is scored, keep the best-scoring fraction of all of them, or of each
 * class. The cut-off is the score of the last description inside the fraction; descriptions tied
 * with it are kept too. All verdicts are written in one statement, keyed by (record, stage), so a
 * retry neither judges a record twice nor changes a verdict already written.
 */
import { sql } from 'drizzle-orm';

import { queryRows, type Db } from '../../db/client';
import type { ClipThresholdInput, ClipThresholdOutput } from '../contracts';
import { emptyBatch } from '../database/records';
import { UNCLASSIFIED } from './types';

/** The score at the edge of the top `fraction` of `scores` (at least one score is inside). */
export function topFractionCutoff(scores: readonly number[], fraction: number): number | undefined {
  if (scores.length === 0) return undefined;
  const sorted = [...scores].sort((a, b) => b - a);
  const keep = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length - 1e-9)));
  return sorted[keep - 1];
}

export function createApplyClipThreshold(db: Db) {
  return async function applyClipThreshold(input: ClipThresholdInput): Promise<ClipThresholdOutput> {
    const { buildId, clip, modelId } = input;
    const fraction = clip.keepFraction ?? 0.3;
    if (clip.mode !== 'top-fraction') throw new Error(`applyClipThreshold needs mode "top-fraction", got ${clip.mode}`);
    // The ranking covers every scored description of the build, judged already or not, so a retry ranks the same set.
    const scored = await queryRows<{ class_name: string; score: number }>(
      db,
      sql`select coalesce(i.class_name, ${UNCLASSIFIED}) as class_name, r.clip_score as score
            from records r join images i on i.seq = r.image_seq
           where r.build_id = ${buildId} and r.set = 'pretrain' and r.clip_score is not null`,
    );
    const byClass = new Map<string, number[]>();
    for (const r of scored) byClass.set(r.class_name, [...(byClass.get(r.class_name) ?? []), Number(r.score)]);
    const overall = topFractionCutoff(
      scored.map((r) => Number(r.score)),
      fraction,
    );
    const cutoffs: Record<string, number> = {};
    for (const [name, scores] of byClass) {
      const cut = clip.perClass ? topFractionCutoff(scores, fraction) : overall;
      if (cut !== undefined) cutoffs[name] = cut;
    }
    const counts = emptyBatch();
    const report = {
      mode: 'top-fraction' as const,
      keepFraction: fraction,
      perClass: clip.perClass,
      byClass: cutoffs,
      ...(!clip.perClass && overall !== undefined ? { threshold: overall } : {}),
    };
    if (Object.keys(cutoffs).length === 0) return { ...counts, threshold: report };

    const cut = sql.join(
      Object.entries(cutoffs).map(([name, value]) => sql`(${name}::text, ${value}::double precision)`),
      sql`, `,
    );
    const rows = await queryRows<{ verdict: string; n: string }>(
      db,
      sql`with cut(class_name, cutoff) as (values ${cut}),
          ins as (
            insert into verdicts (build_id, record_id, stage, verdict, reason, detail)
            select r.build_id, r.id, 'clip_filter',
                   case when r.clip_score >= c.cutoff then 'kept' else 'dropped' end,
                   case when r.clip_score >= c.cutoff then null else 'clip_below_threshold' end,
                   jsonb_build_object('score', r.clip_score, 'threshold', c.cutoff, 'mode', 'top-fraction',
                                      'keepFraction', ${fraction}::double precision,
                                      'perClass', ${clip.perClass}::boolean, 'model', ${modelId}::text)
              from records r
              join images i on i.seq = r.image_seq
              join cut c on c.class_name = coalesce(i.class_name, ${UNCLASSIFIED})
             where r.build_id = ${buildId} and r.set = 'pretrain' and r.status = 'active'
               and r.clip_score is not null
               and not exists (select 1 from verdicts v where v.record_id = r.id and v.stage = 'clip_filter')
            on conflict do nothing
            returning record_id, verdict, reason),
          moved as (
            update records set stage = 'clip_filter',
                   status = case when ins.verdict = 'kept' then records.status else ins.verdict end,
                   reason = case when ins.verdict = 'kept' then records.reason else ins.reason end
              from ins where records.id = ins.record_id and records.status = 'active'
            returning records.id)
          select verdict, count(*) as n from ins group by verdict`,
    );
    for (const r of rows) {
      const n = Number(r.n);
      counts.in += n;
      if (r.verdict === 'kept') counts.kept += n;
      else counts.dropped.clip_below_threshold = (counts.dropped.clip_below_threshold ?? 0) + n;
    }
    return { ...counts, threshold: report };
  };
}
