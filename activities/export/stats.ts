/**
 * The dataset card's figures that come from the database rather than from the exported files:
 * review statistics, the sources' licences, record provenance and served models (CLIP score
 * distributions come from `activities/clip/score-stats.ts`). Every query is an aggregate.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';

export interface ReviewStats {
  /** Verdicts of the review stage, by verdict and reason. */
  verdicts: { verdict: string; reason: string | null; n: number }[];
  /** Per-record decisions by decision and reviewer; null when this database keeps none. */
  decisions: { decision: string; reviewer: string; n: number }[] | null;
}
export interface LicenceRow {
  source: string;
  adapter: string;
  licence: string;
  images: number;
  records: number;
}

export async function reviewStats(db: Db, buildId: string): Promise<ReviewStats> {
  const verdicts = await queryRows<{ verdict: string; reason: string | null; n: string }>(
    db,
    sql`select verdict, reason, count(*) as n from verdicts
         where build_id = ${buildId} and stage = 'review' group by 1, 2 order by 1, 2`,
  );
  const [table] = await queryRows<{ t: string | null }>(db, sql`select to_regclass('review_decisions')::text as t`);
  const decisions = table?.t
    ? await queryRows<{ decision: string; reviewer: string; n: string }>(
        db,
        sql`select decision, reviewer, count(*) as n from review_decisions
             where build_id = ${buildId} group by 1, 2 order by 1, 2`,
      )
    : null;
  return {
    verdicts: verdicts.map((v) => ({ ...v, n: Number(v.n) })),
    decisions: decisions && decisions.map((d) => ({ ...d, n: Number(d.n) })),
  };
}

/** Sources of the exported records with their licences. */
export async function licences(db: Db, buildId: string): Promise<LicenceRow[]> {
  const rows = await queryRows<{
    source: string;
    adapter: string;
    licence: string | null;
    images: string;
    records: string;
  }>(
    db,
    sql`select i.source, i.adapter, i.licence, count(distinct i.seq) as images, count(*) as records
          from records r join images i on i.seq = r.image_seq
         where r.build_id = ${buildId} and r.status = 'active'
         group by 1, 2, 3 order by 1, 3`,
  );
  return rows.map((r) => ({
    source: r.source,
    adapter: r.adapter,
    licence: r.licence ?? 'unknown',
    images: Number(r.images),
    records: Number(r.records),
  }));
}

/** Distinct prompt template versions and models of the exported records. */
export async function recordProvenance(
  db: Db,
  buildId: string,
): Promise<{ promptVersions: string[]; models: string[] }> {
  const rows = await queryRows<{ kind: string; value: string }>(
    db,
    sql`select distinct 'prompt' as kind, prompt_version as value from records
         where build_id = ${buildId} and status = 'active' and prompt_version is not null
        union
        select distinct 'model', model from records
         where build_id = ${buildId} and status = 'active' and model is not null
        order by 1, 2`,
  );
  return {
    promptVersions: rows.filter((r) => r.kind === 'prompt').map((r) => r.value),
    models: rows.filter((r) => r.kind === 'model').map((r) => r.value),
  };
}

/** The model a role was asked for, and the models that actually answered (from the call ledger). */
export async function servedModels(db: Db, buildId: string, role: string, requested: string) {
  const rows = await queryRows<{ model: string }>(
    db,
    sql`select distinct model from model_calls where build_id = ${buildId} and role = ${role} order by model`,
  );
  return { requested, served: rows.map((r) => r.model) };
}
