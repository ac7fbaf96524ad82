/**
 * The model gateway: every model call goes through here. A request is keyed by its model, its
 * full content (an image's content hash in place of its bytes) and its parameters; a key already
 * in the response cache is never sent again, so a re-run or a resumed build pays once per call.
 * Errors are classified at this boundary: rejections that no retry can fix become
 * `ModelRejectedError`s (per record) or non-retryable failures (whole endpoint); rate limits,
 * server errors and timeouts propagate to Temporal's retry policy, honouring Retry-After.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { queryRows, type Db } from '../../db/client';
import { modelCache, modelCalls } from '../../db/schema';
import { imageDataUrl } from '../images/inspect';
import { renderVicunaPrompt } from './prompts';

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

export function createModelGateway(db: Db, endpoints: Record<ModelRole, ModelEndpoint>): ModelGateway {
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
        await recordCall(db, buildId, key, request, hit.servedModel ?? hit.model, true, 0, 0);
        return { content: hit.content, servedModel: hit.servedModel ?? hit.model, cacheHit: true, cacheKey: key };
      }
      const endpoint = endpoints[request.role];
      const { content, servedModel, promptTokens, completionTokens } = await send(endpoint, request);
      await db
        .insert(modelCache)
        .values({ key, model: request.model, servedModel, content, promptTokens, completionTokens })
        .onConflictDoNothing();
      await recordCall(db, buildId, key, request, servedModel, false, promptTokens, completionTokens);
      return { content, servedModel, cacheHit: false, cacheKey: key };
    },
  };
}

async function recordCall(
  db: Db,
  buildId: string,
  cacheKey: string,
  r: ModelRequest,
  servedModel: string,
  cacheHit: boolean,
  promptTokens: number,
  completionTokens: number,
): Promise<void> {
  // The first sighting of a key within a build decides whether it counts as made or as a cache hit.
  await db
    .insert(modelCalls)
    .values({ buildId, cacheKey, role: r.role, model: servedModel, cacheHit, promptTokens, completionTokens })
    .onConflictDoNothing();
}

async function send(
  { client, envPrefix }: ModelEndpoint,
  r: ModelRequest,
): Promise<{ content: string; servedModel: string; promptTokens: number; completionTokens: number }> {
  try {
    const dataUrl = r.image ? await imageDataUrl(r.image.path) : undefined;
    if (r.style === 'completion') {
      const prompt = renderVicunaPrompt(
        r.system,
        [r.prompt, ...(r.history ?? []).map((h) => h.content)].join('\n'),
        !!dataUrl,
      );
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
