/**
 * The model gateway against a real PostgreSQL database and real HTTP servers: the project's
 * OpenAI-compatible simulator, and tiny node:http servers for the answers the simulator never gives.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import sharp from 'sharp';
import { findClass, loadAssets } from '../../../config/assets';
import {
  cacheKeyOf,
  createEndpoint,
  createModelGateway,
  modelCallTotals,
  ModelRejectedError,
  type ModelEndpoint,
  type ModelGateway,
  type ModelRequest,
} from '../../../activities/model-api/gateway';
import { renderConstructionPrompt } from '../../../activities/model-api/prompts';
import { queryRows, type Db } from '../../../db/client';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../../simulator';
import { createTestDatabase } from '../../support/env';

const { prompts, taxonomy } = loadAssets();
const API_KEY = 'sk-test-SECRET-key-4f9a1c';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let dir: string;
let imageA: string;
let imageACopy: string;
let imageB: string;
const hashOf = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const started: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (started.length) await started.pop()!.close();
});

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-gateway-'));
  imageA = path.join(dir, 'a.png');
  imageACopy = path.join(dir, 'copy-of-a.png');
  imageB = path.join(dir, 'b.png');
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 140, b: 110 } } })
    .png()
    .toFile(imageA);
  fs.copyFileSync(imageA, imageACopy);
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 20, g: 40, b: 60 } } })
    .png()
    .toFile(imageB);
});

afterAll(async () => {
  await testDb?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
/** A construction request like the generation activity sends; `tag` makes its prompt unique. */
function request(over: Partial<ModelRequest> = {}): ModelRequest {
  const cls = findClass(taxonomy, 'Print')!;
  const prompt = renderConstructionPrompt({ prompts, task: 'coarse', cls, responseFormat: 'json' });
  return {
    role: 'vision',
    model: 'simulated-mllm',
    system: prompts.system,
    prompt: `${prompt}\n(case ${++counter})`,
    style: 'chat',
    responseFormat: 'json',
    temperature: 0.2,
    maxTokens: 512,
    ...over,
  };
}

const endpointFor = (baseURL: string, envPrefix = 'FASFORGE_VISION'): ModelEndpoint => ({
  client: new OpenAI({ baseURL, apiKey: API_KEY, maxRetries: 0 }),
  envPrefix,
});

async function simulatorGateway(
  options: SimulatorOptions = {},
): Promise<{ sim: RunningSimulator; gateway: ModelGateway }> {
  const sim = await startSimulator(options);
  started.push(sim);
  const endpoint = endpointFor(sim.url);
  return {
    sim,
    gateway: createModelGateway(db, { vision: endpoint, text: { ...endpoint, envPrefix: 'FASFORGE_TEXT' } }),
  };
}

interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A tiny OpenAI-shaped server that answers every POST with `status` and records what it got. */
async function tinyServer(status: number, body: unknown, headers: Record<string, string> = {}) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: data ? JSON.parse(data) : {} });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const handle = {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  started.push(handle);
  return handle;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const cacheRows = async (key: string) =>
  queryRows<{ key: string }>(db, sql`select key from model_cache where key = ${key}`);

describe('the response cache', () => {
  test('sends the same request once and answers the second time from the cache', async () => {
    const { sim, gateway } = await simulatorGateway();
    const r = request();
    const first = await gateway.complete('build-cache-1', r);
    const second = await gateway.complete('build-cache-1', r);
    expect(sim.stats().requests).toBe(1);
    expect(first.cacheHit).toBe(false);
    expect(second.cacheHit).toBe(true);
    expect(second.content).toBe(first.content);
    expect(second.cacheKey).toBe(first.cacheKey);
    expect(first.servedModel).toBe('fasforge-simulator/simulated-mllm');
    expect(second.servedModel).toBe(first.servedModel);
    expect(JSON.parse(first.content)).toEqual({ question: expect.any(String), answer: expect.any(String) });
  });

  test('keeps the cache across gateways, so a new worker does not pay again', async () => {
    const { sim, gateway } = await simulatorGateway();
    const r = request();
    await gateway.complete('build-cache-2', r);
    const again = createModelGateway(db, { vision: endpointFor(sim.url), text: endpointFor(sim.url, 'FASFORGE_TEXT') });
    expect((await again.complete('build-cache-2', r)).cacheHit).toBe(true);
    expect(sim.stats().requests).toBe(1);
  });

  test('sends a request again when any parameter differs', async () => {
    const { sim, gateway } = await simulatorGateway();
    const r = request();
    await gateway.complete('build-cache-3', r);
    for (const change of [
      { temperature: 0.3 },
      { maxTokens: 256 },
      { model: 'other-model' },
      { responseFormat: 'text' as const },
    ]) {
      expect((await gateway.complete('build-cache-3', { ...r, ...change })).cacheHit).toBe(false);
    }
    expect(sim.stats().requests).toBe(5);
  });

  test('counts calls made and cache hits per build, and a second build counts a hit for the same request', async () => {
    const { sim, gateway } = await simulatorGateway();
    const shared = request();
    const other = request();
    await gateway.complete('build-totals-a', shared);
    await gateway.complete('build-totals-a', other);
    await gateway.complete('build-totals-a', shared); // a repeat within the build is not counted twice
    const a = await modelCallTotals(db, 'build-totals-a');
    expect(a).toEqual({
      made: 2,
      cacheHits: 0,
      promptTokens: expect.any(Number),
      completionTokens: expect.any(Number),
    });
    expect(a.promptTokens).toBeGreaterThan(0);
    expect(a.completionTokens).toBeGreaterThan(0);

    const fresh = request();
    expect((await gateway.complete('build-totals-b', shared)).cacheHit).toBe(true);
    await gateway.complete('build-totals-b', fresh);
    const b = await modelCallTotals(db, 'build-totals-b');
    expect(b.made).toBe(1);
    expect(b.cacheHits).toBe(1);
    expect(sim.stats().requests).toBe(3);

    // Build A's ledger is unchanged by build B.
    expect(await modelCallTotals(db, 'build-totals-a')).toEqual(a);
  });

  test('reports zeros for a build that made no calls', async () => {
    expect(await modelCallTotals(db, 'build-with-no-calls')).toEqual({
      made: 0,
      cacheHits: 0,
      promptTokens: 0,
      completionTokens: 0,
    });
  });

  test('keys an image by its content hash, not its path', async () => {
    const { sim, gateway } = await simulatorGateway();
    const r = request({ image: { path: imageA, contentHash: hashOf(imageA) } });
    const first = await gateway.complete('build-image', r);
    expect(first.cacheHit).toBe(false);

    const samePixelsElsewhere = await gateway.complete('build-image', {
      ...r,
      image: { path: imageACopy, contentHash: hashOf(imageACopy) },
    });
    expect(hashOf(imageACopy)).toBe(hashOf(imageA));
    expect(samePixelsElsewhere.cacheHit).toBe(true);
    expect(samePixelsElsewhere.content).toBe(first.content);
    expect(sim.stats().requests).toBe(1);

    const otherPixelsSamePath = await gateway.complete('build-image', {
      ...r,
      image: { path: imageA, contentHash: hashOf(imageB) },
    });
    expect(otherPixelsSamePath.cacheHit).toBe(false);
    expect(sim.stats().requests).toBe(2);
  });

  test('gives the same key regardless of the image path and the role', () => {
    const r = request({ image: { path: imageA, contentHash: 'abc' } });
    expect(cacheKeyOf({ ...r, image: { path: imageACopy, contentHash: 'abc' } })).toBe(cacheKeyOf(r));
    expect(cacheKeyOf({ ...r, image: { path: imageA, contentHash: 'abd' } })).not.toBe(cacheKeyOf(r));
    expect(cacheKeyOf({ ...r, image: undefined })).not.toBe(cacheKeyOf(r));
    expect(cacheKeyOf({ ...r, history: [{ role: 'user', content: 'again' }] })).not.toBe(cacheKeyOf(r));
  });
});

describe('what is sent', () => {
  const okChat = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'served-model',
    choices: [
      { index: 0, message: { role: 'assistant', content: '{"question":"q?","answer":"a."}' }, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
  const okCompletion = {
    id: 'cmpl-1',
    object: 'text_completion',
    created: 1,
    model: 'served-model',
    choices: [{ index: 0, text: 'Question: q?\nAnswer: a.', finish_reason: 'stop' }],
    usage: { prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 },
  };

  test('a chat request carries the system prompt, the image as a data URL and JSON mode', async () => {
    const server = await tinyServer(200, okChat);
    const gateway = createModelGateway(db, {
      vision: endpointFor(server.url),
      text: endpointFor(server.url, 'FASFORGE_TEXT'),
    });
    const r = request({ image: { path: imageA, contentHash: hashOf(imageA) } });
    const reply = await gateway.complete('build-sent-chat', r);
    expect(reply).toMatchObject({
      content: okChat.choices[0]!.message.content,
      servedModel: 'served-model',
      cacheHit: false,
    });
    expect(server.received).toHaveLength(1);
    const { url, body, headers } = server.received[0]!;
    expect(url).toBe('/v1/chat/completions');
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(body).toMatchObject({
      model: 'simulated-mllm',
      temperature: 0.2,
      max_tokens: 512,
      response_format: { type: 'json_object' },
    });
    const messages = body.messages as { role: string; content: unknown }[];
    expect(messages[0]).toEqual({ role: 'system', content: prompts.system });
    expect(messages[1]).toEqual({
      role: 'user',
      content: [
        {
          type: 'image_url',
          image_url: { url: `data:image/png;base64,${fs.readFileSync(imageA).toString('base64')}` },
        },
        { type: 'text', text: r.prompt },
      ],
    });
    expect(await modelCallTotals(db, 'build-sent-chat')).toEqual({
      made: 1,
      cacheHits: 0,
      promptTokens: 11,
      completionTokens: 7,
    });
  });

  test('a completion request carries the Vicuna prompt and the image bytes', async () => {
    const server = await tinyServer(200, okCompletion);
    const gateway = createModelGateway(db, {
      vision: endpointFor(server.url),
      text: endpointFor(server.url, 'FASFORGE_TEXT'),
    });
    const r = request({
      style: 'completion',
      responseFormat: 'text',
      image: { path: imageA, contentHash: hashOf(imageA) },
    });
    const reply = await gateway.complete('build-sent-completion', r);
    expect(reply.content).toBe('Question: q?\nAnswer: a.');
    const { url, body } = server.received[0]!;
    expect(url).toBe('/v1/completions');
    expect(body.prompt).toBe(`${prompts.system} USER: <image>\n${r.prompt} ASSISTANT:`);
    expect(body.images).toEqual([fs.readFileSync(imageA).toString('base64')]);
    expect(body).not.toHaveProperty('response_format');
  });
});

describe('error classification', () => {
  test('turns a 429 into a retryable ModelRateLimited failure that honours retry-after', async () => {
    const { sim, gateway } = await simulatorGateway({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const r = request();
    const err = await caught(gateway.complete('build-429', r));
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe('ModelRateLimited');
    expect(failure.nextRetryDelay).toBe('7s');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('HTTP 429');
    expect(sim.stats().byStatus).toEqual({ '429': 1 });
    expect(await cacheRows(cacheKeyOf(r))).toHaveLength(0);
    expect(await modelCallTotals(db, 'build-429')).toMatchObject({ made: 0, cacheHits: 0 });
  });

  test('retries a 429 and succeeds', async () => {
    const { sim, gateway } = await simulatorGateway({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const r = request();
    await caught(gateway.complete('build-429-retry', r));
    const reply = await gateway.complete('build-429-retry', r); // what Temporal's next attempt does
    expect(reply.cacheHit).toBe(false);
    expect(sim.stats().byStatus).toEqual({ '429': 1, '200': 1 });
    expect(await modelCallTotals(db, 'build-429-retry')).toMatchObject({ made: 1, cacheHits: 0 });
  });

  test('leaves the retry delay to the policy when a 429 has no usable retry-after', async () => {
    const server = await tinyServer(
      429,
      { error: { message: 'slow down', type: 'requests' } },
      { 'retry-after': 'soon' },
    );
    const gateway = createModelGateway(db, { vision: endpointFor(server.url), text: endpointFor(server.url) });
    const failure = (await caught(gateway.complete('build-429-nodelay', request()))) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('ModelRateLimited');
    expect(failure.nextRetryDelay).toBeUndefined();
  });

  test.each([401, 403])(
    'turns a %i into a non-retryable failure naming the API key setting without the key',
    async (status) => {
      const server = await tinyServer(status, {
        error: {
          message: `Incorrect API key provided: ${API_KEY}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
      const gateway = createModelGateway(db, {
        vision: endpointFor(server.url),
        text: endpointFor(server.url, 'FASFORGE_TEXT'),
      });
      const err = await caught(gateway.complete(`build-${status}`, request()));
      expect(server.received[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(err).toBeInstanceOf(ApplicationFailure);
      const failure = err as ApplicationFailure;
      expect(failure.nonRetryable).toBe(true);
      expect(failure.type).toBe('ModelRequestRejected');
      expect(failure.message).toContain('FASFORGE_VISION_API_KEY');
      expect(failure.message).toContain(`HTTP ${status}`);
      const everything = [
        failure.message,
        failure.stack ?? '',
        String(failure),
        JSON.stringify(failure.details ?? null),
        String(failure.cause ?? ''),
      ].join('\n');
      expect(everything).not.toContain(API_KEY);
    },
  );

  test('names the text endpoint setting for a text request', async () => {
    const server = await tinyServer(401, { error: { message: 'bad key' } });
    const gateway = createModelGateway(db, {
      vision: endpointFor(server.url),
      text: endpointFor(server.url, 'FASFORGE_TEXT'),
    });
    const failure = (await caught(gateway.complete('build-401-text', request({ role: 'text' })))) as ApplicationFailure;
    expect(failure.message).toContain('FASFORGE_TEXT_API_KEY');
  });

  test('turns a 404 into a non-retryable failure naming the base URL setting', async () => {
    const server = await tinyServer(404, { error: { message: 'no such model' } });
    const gateway = createModelGateway(db, { vision: endpointFor(server.url), text: endpointFor(server.url) });
    const failure = (await caught(gateway.complete('build-404', request()))) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('FASFORGE_VISION_BASE_URL');
  });

  test.each([400, 413, 422])('turns a %i into a per-record ModelRejectedError', async (status) => {
    const server = await tinyServer(status, {
      error: { message: 'image too large for this model', type: 'invalid_request_error' },
    });
    const gateway = createModelGateway(db, { vision: endpointFor(server.url), text: endpointFor(server.url) });
    const r = request();
    const err = await caught(gateway.complete(`build-${status}`, r));
    expect(err).toBeInstanceOf(ModelRejectedError);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    const rejected = err as ModelRejectedError;
    expect(rejected.reason).toBe(`model_rejected_${status}`);
    expect(rejected.message).toContain(`HTTP ${status}`);
    expect(rejected.message).toContain('image too large for this model');
    expect(await cacheRows(cacheKeyOf(r))).toHaveLength(0);
  });

  test('lets a 500 through unchanged for the retry policy', async () => {
    const { gateway } = await simulatorGateway({ serverErrorRate: 1 });
    const err = await caught(gateway.complete('build-500', request()));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });

  test('lets a connection failure through unchanged for the retry policy', async () => {
    const server = await tinyServer(200, {});
    const url = server.url;
    await started.pop()!.close();
    const gateway = createModelGateway(db, { vision: endpointFor(url), text: endpointFor(url) });
    const err = await caught(gateway.complete('build-conn', request()));
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});

describe('the endpoint client', () => {
  test('the client built for workers never retries: a 500 reaches the server exactly once', async () => {
    const sim = await startSimulator({ serverErrorRate: 1 });
    started.push(sim);
    const endpoint = createEndpoint({ baseUrl: sim.url, apiKey: API_KEY }, 'FASFORGE_VISION', 5000);
    const gateway = createModelGateway(db, { vision: endpoint, text: endpoint });
    const err = await caught(gateway.complete('build-noretry', request()));
    expect((err as { status?: number }).status).toBe(500);
    expect(sim.stats()).toEqual({ requests: 1, byStatus: { '500': 1 } });
    expect(endpoint.client.maxRetries).toBe(0);
  });

  test('a hang past the client timeout is a retryable timeout error, not a rejection', async () => {
    const sim = await startSimulator({ timeoutRate: 1, hangMs: 60_000 });
    started.push(sim);
    const endpoint = createEndpoint({ baseUrl: sim.url }, 'FASFORGE_VISION', 300);
    const err = await caught(
      createModelGateway(db, { vision: endpoint, text: endpoint }).complete('b-hang', request()),
    );
    // A connection error is what classify() leaves to the retry policy.
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sim.faults()).toEqual({ 'transport:timeout': 1 });
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });

  test('maxInFlight holds the requests in flight to an endpoint at its value', async () => {
    const sim = await startSimulator({ latencyMs: 30 });
    started.push(sim);
    let inFlight = 0;
    let peak = 0;
    const counting: typeof fetch = async (input, init) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight -= 1;
      }
    };
    const client = new OpenAI({ baseURL: sim.url, apiKey: API_KEY, maxRetries: 0, fetch: counting });
    const endpoint: ModelEndpoint = { client, envPrefix: 'FASFORGE_VISION', maxInFlight: 3 };
    const gateway = createModelGateway(db, { vision: endpoint, text: endpoint });
    await Promise.all(Array.from({ length: 12 }, () => gateway.complete('b-inflight', request())));
    expect(sim.stats().requests).toBe(12);
    expect(peak).toBe(3);
  });
});

describe('usage, cost and budget', () => {
  const prices = {
    version: 'test',
    currency: 'USD' as const,
    models: { 'fasforge-simulator/simulated-mllm': { inputPerMTokens: 2, outputPerMTokens: 8 } },
  };

  test('records tokens, stage, latency and cost of each call; a cache hit costs nothing', async () => {
    const sim = await startSimulator({});
    started.push(sim);
    const gateway = createModelGateway(db, { vision: endpointFor(sim.url), text: endpointFor(sim.url) }, { prices });
    const r = request({ stage: 'generate' });
    await gateway.complete('b-usage', r);
    await gateway.complete('b-usage-2', r);
    const rows = await queryRows<{
      build_id: string;
      stage: string;
      cache_hit: boolean;
      prompt_tokens: number;
      completion_tokens: number;
      cost_usd: number | null;
      latency_ms: number;
    }>(
      db,
      sql`select build_id, stage, cache_hit, prompt_tokens, completion_tokens, cost_usd, latency_ms from model_calls where build_id in ('b-usage', 'b-usage-2') order by build_id`,
    );
    const [paid, hit] = rows;
    expect(paid).toMatchObject({ stage: 'generate', cache_hit: false });
    expect(paid!.prompt_tokens).toBeGreaterThan(0);
    expect(paid!.completion_tokens).toBeGreaterThan(0);
    expect(paid!.cost_usd).toBeCloseTo((paid!.prompt_tokens * 2 + paid!.completion_tokens * 8) / 1e6, 12);
    expect(paid!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(hit).toMatchObject({ cache_hit: true, cost_usd: 0, prompt_tokens: 0 });
  });

  test('a model missing from the price table has an unknown cost, not zero', async () => {
    const { costReport } = await import('../../../activities/model-api/usage');
    const sim = await startSimulator({});
    started.push(sim);
    const gateway = createModelGateway(
      db,
      { vision: endpointFor(sim.url), text: endpointFor(sim.url) },
      { prices: { ...prices, models: {} } },
    );
    await gateway.complete('b-unpriced', request());
    const report = await costReport(db, 'b-unpriced');
    expect(report.total).toMatchObject({ calls: 1, usd: null, pricedUsd: 0, unpricedCalls: 1 });
    expect(report.byModel['fasforge-simulator/simulated-mllm']).toMatchObject({ usd: null, unpricedCalls: 1 });
  });

  test('refuses to send once the build has spent its cap, with a non-retryable BudgetExhausted', async () => {
    const sim = await startSimulator({});
    started.push(sim);
    await db.execute(
      sql`insert into builds (id, config) values ('b-capped', ${JSON.stringify({ budget: { maxUsd: 0.000001 } })}::jsonb)`,
    );
    const gateway = createModelGateway(db, { vision: endpointFor(sim.url), text: endpointFor(sim.url) }, { prices });
    await gateway.complete('b-capped', request());
    const err = await caught(gateway.complete('b-capped', request()));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'BudgetExhausted', nonRetryable: true });
    expect((err as Error).message).toMatch(/raiseBudget/);
    expect(sim.stats().requests).toBe(1);
    const [spent] = await queryRows<{ spent_usd: number }>(db, sql`select spent_usd from builds where id = 'b-capped'`);
    expect(spent!.spent_usd).toBeGreaterThan(0.000001);
  });

  test('refuses a capped build whose model has no price, saying which price to add', async () => {
    const sim = await startSimulator({});
    started.push(sim);
    await db.execute(
      sql`insert into builds (id, config) values ('b-cap-unpriced', ${JSON.stringify({ budget: { maxUsd: 10 } })}::jsonb)`,
    );
    const gateway = createModelGateway(
      db,
      { vision: endpointFor(sim.url), text: endpointFor(sim.url) },
      { prices: { ...prices, models: {} } },
    );
    // The first call learns the served model id; the price table lacks both ids, so the next is refused.
    await gateway.complete('b-cap-unpriced', request());
    const err = await caught(gateway.complete('b-cap-unpriced', request()));
    expect(err).toMatchObject({ type: 'ModelPriceUnknown', nonRetryable: true });
    expect((err as Error).message).toMatch(/config\/prices\.json/);
  });
});
