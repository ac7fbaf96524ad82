/**
 * The model gateway: every model call goes through here. A request is keyed by its model, its
 * full content (an image's content hash in place of its bytes) and its parameters; a key already
 * in the response cache is never sent again, so a re-run or a resumed build pays once per call.
 * Errors are classified at this boundary: rejections that no retry can fix become
 * `ModelRejectedError`s (per record) or non-retryable failures (whole endpoint); rate limits,
 * server errors and timeouts propagate to Temporal's retry policy, honouring Retry-After.
 * Every call is written to the build's ledger with its stage, tokens, cost and latency; a call
 * the build's budget cannot pay for is not sent.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { queryRows, type Db } from '../../db/client';
import { modelCache, modelCalls } from '../../db/schema';
import { imageDataUrl } from '../images/inspect';
import { createLimiter } from './limit';
import { renderVicunaPrompt } from './prompts';
import { checkBudget, costOf, loadPriceTable, priceFor, type PriceTable } from './usage';

export type ModelRole = 'vision' | 'text';

export interface ModelRequest {
  role: ModelRole;
  model: string;
  system: string;
  prompt: string;
  image?: { path: string; contentHash: string };
  /** Earlier turns of the same exchange, for a repair attempt. */
  history?: { role: 'assistant' | 'user'; content: string }[];
  style: 'chat' | 'completion';
  responseFormat: 'json' | 'text';
  temperature: number;
  maxTokens: number;
  /** The pipeline stage asking, for the cost report; not part of the cache key. */
  stage?: string;
}

export interface ModelReply {
  content: string;
  servedModel: string;
  cacheHit: boolean;
  cacheKey: string;
}

export class ModelRejectedError extends Error {
  override name = 'ModelRejectedError';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface ModelGateway {
  complete(buildId: string, request: ModelRequest): Promise<ModelReply>;
}

export interface ModelEndpoint {
  client: OpenAI;
  /** Shown in error messages to say which setting to fix. */
  envPrefix: string;
  /**
   * Requests in flight to this endpoint from this process, at most; the others wait before
   * sending, while database work of other records goes on. Unset: as many as the activities ask.
   */
  maxInFlight?: number;
}

/**
 * An endpoint's client. The client itself never retries (Temporal's retry policy does, with
 * backoff and Retry-After), and its timeout must stay below the activity's, so the two never stack.
 * The key is read from the worker's environment by the caller and lives only in this client.
 */
export function createEndpoint(
  conf: { baseUrl: string; apiKey?: string; maxInFlight?: number },
  envPrefix: string,
  timeoutMs: number,
): ModelEndpoint {
  const client = new OpenAI({
    baseURL: conf.baseUrl,
    apiKey: conf.apiKey ?? 'not-needed',
    maxRetries: 0,
    timeout: timeoutMs,
  });
  return { client, envPrefix, ...(conf.maxInFlight ? { maxInFlight: conf.maxInFlight } : {}) };
}

export interface GatewayOptions {
  /** Prices per model (default `config/prices.json`). */
  prices?: PriceTable;
}

export function cacheKeyOf(r: ModelRequest, endpoint = ''): string {
  const { image, ...rest } = r;
  // Keys are built from a fixed field order, so equal requests always hash alike.
  const keyed = [
    endpoint,
    rest.role,
    rest.model,
    rest.style,
    rest.responseFormat,
    rest.temperature,
    rest.maxTokens,
    rest.system,
    rest.prompt,
    image?.contentHash ?? null,
    rest.history ?? [],
  ];
  return createHash('sha256').update(JSON.stringify(keyed)).digest('hex');
}

export function createModelGateway(
  db: Db,
  endpoints: Record<ModelRole, ModelEndpoint>,
  options: GatewayOptions = {},
): ModelGateway {
  const prices = options.prices ?? loadPriceTable();
  // The model id each requested model was last served as: a price may be listed under either.
  const served = new Map<string, string>();
  const uncapped = new Set<string>();
  // The tasks of one image are asked together: read and encode each image once for all of them.
  const images = new Map<string, Promise<string>>();
  const readImage = (image: { path: string; contentHash: string }) => {
    const key = `${image.contentHash}\u0000${image.path}`;
    let url = images.get(key);
    if (!url) {
      url = imageDataUrl(image.path);
      images.set(key, url);
      url.catch(() => images.delete(key));
      if (images.size > 64) images.delete(images.keys().next().value!);
    }
    return url;
  };
  const limiters = new Map<ModelEndpoint, ReturnType<typeof createLimiter>>();
  const unlimited = <T>(task: () => Promise<T>) => task();
  const inFlight = (e: ModelEndpoint) => {
    if (!e.maxInFlight) return unlimited;
    let limit = limiters.get(e);
    if (!limit) limiters.set(e, (limit = createLimiter(e.maxInFlight)));
    return limit;
  };
  return {
    async complete(buildId, request) {
      // The endpoint is part of the key: another server's answer for the same model name is not reused.
      const key = cacheKeyOf(request, endpoints[request.role].client.baseURL);
      const [hit] = await db
        .select()
        .from(modelCache)
        .where(sql`${modelCache.key} = ${key}`)
        .limit(1);
      if (hit) {
        const servedModel = hit.servedModel ?? hit.model;
        served.set(request.model, servedModel);
        await recordHit(db, buildId, key, request, servedModel);
        return { content: hit.content, servedModel, cacheHit: true, cacheKey: key };
      }
      const known = served.get(request.model);
      // A build without a cap never gets one (a cap is only raised, on a build paused by its cap).
      if (!uncapped.has(buildId)) {
        const budget = await checkBudget(db, buildId, request.model, priceFor(prices, known, request.model), !!known);
        if (budget.maxUsd === undefined) uncapped.add(buildId);
      }
      const endpoint = endpoints[request.role];
      let latencyMs = 0;
      const { content, servedModel, promptTokens, completionTokens } = await inFlight(endpoint)(async () => {
        const started = Date.now();
        try {
          return await send(endpoint, request, readImage);
        } finally {
          latencyMs = Date.now() - started;
        }
      });
      served.set(request.model, servedModel);
      const costUsd = costOf(priceFor(prices, servedModel, request.model), promptTokens, completionTokens);
      const call = ledgerRow(buildId, key, request, {
        servedModel,
        cacheHit: false,
        promptTokens,
        completionTokens,
        costUsd,
        latencyMs,
      });
      // One statement: the cached answer, the ledger row and, for a call new to the ledger, its cost.
      await db.execute(sql`
        with cached as (
          insert into model_cache (key, model, served_model, content, prompt_tokens, completion_tokens)
          values (${key}, ${request.model}, ${servedModel}, ${content}, ${promptTokens}, ${completionTokens})
          on conflict do nothing),
        call as (
          insert into model_calls (build_id, cache_key, role, model, cache_hit, prompt_tokens, completion_tokens, stage, cost_usd, latency_ms)
          values (${call.buildId}, ${call.cacheKey}, ${call.role}, ${call.model}, false, ${promptTokens}, ${completionTokens},
                  ${call.stage}, ${costUsd}, ${latencyMs})
          on conflict do nothing returning id)
        update builds set spent_usd = spent_usd + ${costUsd ?? 0}
          where id = ${buildId} and ${(costUsd ?? 0) > 0} and exists (select 1 from call)`);
      return { content, servedModel, cacheHit: false, cacheKey: key };
    },
  };
}

interface CallFacts {
  servedModel: string;
  cacheHit: boolean;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  latencyMs: number;
}

function ledgerRow(buildId: string, cacheKey: string, r: ModelRequest, f: CallFacts) {
  return {
    buildId,
    cacheKey,
    role: r.role,
    model: f.servedModel,
    cacheHit: f.cacheHit,
    promptTokens: f.promptTokens,
    completionTokens: f.completionTokens,
    stage: r.stage ?? (r.role === 'vision' ? 'generate' : 'sft'),
    costUsd: f.costUsd,
    latencyMs: f.latencyMs,
  };
}

/** Writes a cache hit to the ledger; the first sighting of a key within a build decides made or hit. */
async function recordHit(db: Db, buildId: string, cacheKey: string, r: ModelRequest, servedModel: string) {
  const row = ledgerRow(buildId, cacheKey, r, {
    servedModel,
    cacheHit: true,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
    latencyMs: 0,
  });
  await db.insert(modelCalls).values(row).onConflictDoNothing();
}

async function send(
  { client, envPrefix }: ModelEndpoint,
  r: ModelRequest,
  readImage: (image: { path: string; contentHash: string }) => Promise<string>,
): Promise<{ content: string; servedModel: string; promptTokens: number; completionTokens: number }> {
  try {
    const dataUrl = r.image ? await readImage(r.image) : undefined;
    if (r.style === 'completion') {
      const prompt = renderVicunaPrompt(r.system, r.prompt, !!dataUrl, r.history);
      const body = {
        model: r.model,
        prompt,
        temperature: r.temperature,
        max_tokens: r.maxTokens,
        ...(dataUrl ? { images: [dataUrl.slice(dataUrl.indexOf(',') + 1)] } : {}),
      };
      const res = await client.completions.create(body);
      return {
        content: res.choices[0]?.text ?? '',
        servedModel: res.model,
        promptTokens: res.usage?.prompt_tokens ?? 0,
        completionTokens: res.usage?.completion_tokens ?? 0,
      };
    }
    const user: OpenAI.Chat.ChatCompletionContentPart[] = [];
    if (dataUrl) user.push({ type: 'image_url', image_url: { url: dataUrl } });
    user.push({ type: 'text', text: r.prompt });
    const res = await client.chat.completions.create({
      model: r.model,
      messages: [{ role: 'system', content: r.system }, { role: 'user', content: user }, ...(r.history ?? [])],
      temperature: r.temperature,
      max_tokens: r.maxTokens,
      ...(r.responseFormat === 'json' ? { response_format: { type: 'json_object' as const } } : {}),
    });
    return {
      content: res.choices[0]?.message?.content ?? '',
      servedModel: res.model,
      promptTokens: res.usage?.prompt_tokens ?? 0,
      completionTokens: res.usage?.completion_tokens ?? 0,
    };
  } catch (err) {
    throw classify(err, r, envPrefix);
  }
}

/** Maps an API error to what Temporal should do with it. */
export function classify(err: unknown, r: ModelRequest, envPrefix: string): unknown {
  if (!(err instanceof OpenAI.APIError) || err instanceof OpenAI.APIConnectionError) return err;
  const status = err.status;
  const where = `model ${r.model} (${r.role})`;
  if (status === 401 || status === 403) {
    return ApplicationFailure.nonRetryable(
      `${where} refused the credentials (HTTP ${status}); check ${envPrefix}_API_KEY in the worker's environment`,
      'ModelRequestRejected',
    );
  }
  if (status === 404) {
    return ApplicationFailure.nonRetryable(
      `${where} was not found at ${envPrefix}_BASE_URL (HTTP 404); check the model name and base URL`,
      'ModelRequestRejected',
    );
  }
  if (status === 400 || status === 422 || status === 413) {
    return new ModelRejectedError(
      `${where} rejected the request (HTTP ${status}): ${err.message}`,
      `model_rejected_${status}`,
    );
  }
  if (status === 429) {
    const retryAfter = Number(err.headers?.get?.('retry-after') ?? NaN);
    return ApplicationFailure.create({
      message: `${where} is rate-limiting (HTTP 429)`,
      type: 'ModelRateLimited',
      nextRetryDelay: Number.isFinite(retryAfter) && retryAfter > 0 ? `${retryAfter}s` : undefined,
    });
  }
  return err;
}

/** The build's call ledger: calls made, cache hits and tokens. */
export async function modelCallTotals(db: Db, buildId: string) {
  const [row] = await queryRows<{ made: string; hits: string; pt: string; ct: string }>(
    db,
    sql`select count(*) filter (where not cache_hit) as made, count(*) filter (where cache_hit) as hits,
        coalesce(sum(prompt_tokens), 0) as pt, coalesce(sum(completion_tokens), 0) as ct
        from model_calls where build_id = ${buildId}`,
  );
  return {
    made: Number(row?.made ?? 0),
    cacheHits: Number(row?.hits ?? 0),
    promptTokens: Number(row?.pt ?? 0),
    completionTokens: Number(row?.ct ?? 0),
  };
}
