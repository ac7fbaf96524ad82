/**
 * Token usage, cost and budget. Prices come from `config/prices.json` (USD per million input and
 * output tokens, per model id); a model without a price costs "unknown", never 0. The cost report
 * reads the call ledger (`model_calls`) and gives totals per build, stage and model. The budget is
 * a per-build cap: the gateway refuses to send a call once the build has spent its cap, and a
 * `raiseBudget` signal stores a new cap through `setBuildBudget`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { projectRoot } from '../../config/env';
import { queryRows, type Db } from '../../db/client';

const priceSchema = z.object({
  inputPerMTokens: z.number().min(0),
  outputPerMTokens: z.number().min(0),
  note: z.string().optional(),
});
const priceTableSchema = z.object({
  version: z.string(),
  currency: z.literal('USD'),
  about: z.string().optional(),
  models: z.record(z.string(), priceSchema),
});
export type PriceTable = z.infer<typeof priceTableSchema>;
export type Price = z.infer<typeof priceSchema>;

export const PRICES_FILE = path.join(projectRoot, 'config', 'prices.json');

export function loadPriceTable(file = PRICES_FILE): PriceTable {
  const parsed = priceTableSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** The price of a model: the served id, then the requested id, each exactly and then by `prefix/*`. */
export function priceFor(table: PriceTable, ...ids: (string | undefined)[]): Price | undefined {
  const known = ids.filter((id): id is string => !!id);
  for (const id of known) if (table.models[id]) return table.models[id];
  for (const id of known) {
    for (const [pattern, price] of Object.entries(table.models)) {
      if (pattern.endsWith('/*') && id.startsWith(pattern.slice(0, -1))) return price;
    }
  }
  return undefined;
}

export function costOf(price: Price | undefined, promptTokens: number, completionTokens: number): number | null {
  if (!price) return null;
  return (promptTokens * price.inputPerMTokens + completionTokens * price.outputPerMTokens) / 1_000_000;
}

export interface BuildBudget {
  /** The cap in force, or undefined for no cap. */
  maxUsd?: number;
  spentUsd: number;
}

/** The build's cap (a raised one wins over the build input's) and what it has spent. */
export async function readBudget(db: Db, buildId: string): Promise<BuildBudget> {
  const [row] = await queryRows<{ budget_usd: number | null; spent_usd: number; input_cap: string | null }>(
    db,
    sql`select budget_usd, spent_usd, config->'budget'->>'maxUsd' as input_cap from builds where id = ${buildId}`,
  );
  if (!row) return { spentUsd: 0 };
  const cap = row.budget_usd ?? (row.input_cap === null ? undefined : Number(row.input_cap));
  return { ...(cap === undefined ? {} : { maxUsd: cap }), spentUsd: Number(row.spent_usd) };
}

/**
 * Refuses a call the build cannot pay for: the cap is reached, or a cap is set but the model has no
 * price, so spending could not be counted. Both are non-retryable; the build workflow waits for a
 * `raiseBudget` signal on `BudgetExhausted` and fails with what to fix on `ModelPriceUnknown`.
 */
export async function checkBudget(
  db: Db,
  buildId: string,
  model: string,
  price: Price | undefined,
  /** False until the server has said which model id it serves, which may be the one priced. */
  requirePrice = true,
): Promise<BuildBudget> {
  const budget = await readBudget(db, buildId);
  if (budget.maxUsd === undefined) return budget;
  if (!price && requirePrice) {
    throw ApplicationFailure.nonRetryable(
      `build ${buildId} has a budget of $${budget.maxUsd} but model ${model} has no price in config/prices.json; ` +
        'add its input and output price per million tokens',
      'ModelPriceUnknown',
    );
  }
  if (budget.spentUsd >= budget.maxUsd) {
    throw ApplicationFailure.nonRetryable(
      `build ${buildId} has spent $${budget.spentUsd.toFixed(6)} of its $${budget.maxUsd} budget; ` +
        `signal raiseBudget with {"maxUsd": <new cap>} to go on`,
      'BudgetExhausted',
      { maxUsd: budget.maxUsd, spentUsd: budget.spentUsd },
    );
  }
  return budget;
}

/** Stores a new cap for a build; returns the budget now in force. */
export async function setBuildBudget(db: Db, input: { buildId: string; maxUsd: number }): Promise<BuildBudget> {
  await db.execute(sql`update builds set budget_usd = ${input.maxUsd}, updated_at = now() where id = ${input.buildId}`);
  return readBudget(db, input.buildId);
}

export interface CostLine {
  calls: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  /** USD, or null when some paid call's model has no price. */
  usd: number | null;
  /** USD of the calls that have a price. */
  pricedUsd: number;
  /** Paid calls whose model has no price. */
  unpricedCalls: number;
}

export interface CostReport {
  currency: 'USD';
  total: CostLine;
  byStage: Record<string, CostLine>;
  byModel: Record<string, CostLine>;
  budget: BuildBudget;
}

/** The build's model usage and cost, in total and per stage and model (served model ids). */
export async function costReport(db: Db, buildId: string): Promise<CostReport> {
  const rows = await queryRows<{
    stage: string | null;
    model: string;
    calls: string;
    hits: string;
    pt: string;
    ct: string;
    usd: number | null;
    unpriced: string;
  }>(
    db,
    sql`select stage, model, count(*) filter (where not cache_hit) as calls, count(*) filter (where cache_hit) as hits,
               coalesce(sum(prompt_tokens), 0) as pt, coalesce(sum(completion_tokens), 0) as ct,
               coalesce(sum(cost_usd), 0) as usd, count(*) filter (where not cache_hit and cost_usd is null) as unpriced
          from model_calls where build_id = ${buildId} group by stage, model order by stage, model`,
  );
  const empty = (): CostLine => ({
    calls: 0,
    cacheHits: 0,
    promptTokens: 0,
    completionTokens: 0,
    usd: 0,
    pricedUsd: 0,
    unpricedCalls: 0,
  });
  const total = empty();
  const byStage: Record<string, CostLine> = {};
  const byModel: Record<string, CostLine> = {};
  for (const r of rows) {
    const stage = r.stage ?? 'unknown';
    for (const line of [total, (byStage[stage] ??= empty()), (byModel[r.model] ??= empty())]) {
      line.calls += Number(r.calls);
      line.cacheHits += Number(r.hits);
      line.promptTokens += Number(r.pt);
      line.completionTokens += Number(r.ct);
      line.pricedUsd += Number(r.usd ?? 0);
      line.unpricedCalls += Number(r.unpriced);
      line.usd = line.unpricedCalls > 0 ? null : line.pricedUsd;
    }
  }
  return { currency: 'USD', total, byStage, byModel, budget: await readBudget(db, buildId) };
}
