/**
 * The HTTP face of the simulator: an OpenAI-compatible fastify server with `GET /v1/models`,
 * `POST /v1/chat/completions` and `POST /v1/completions`.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply } from 'fastify';
import { z } from 'zod';
import { AttemptTracker, latencyFor, resolveFaults, type ResolvedFaults, type SimulatorFaults } from './faults';
import { requestHash } from './prng';
import { simulateReply } from './responder';
import { IMAGE_TOKENS, countTokens, truncateTokens } from './tokens';

/** Server options on top of the fault settings. */
export interface SimulatorOptions extends SimulatorFaults {
  /** TCP port; 0 picks a free one (default 0). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Seed mixed into every request hash (default "fasforge"). */
  seed?: string;
  /** Models to list and accept; when omitted any model name is accepted. */
  models?: string[];
  /** When set, every request must carry `Authorization: Bearer <apiKey>`; others get a 401. */
  apiKey?: string;
}

/** A started simulator. */
export interface RunningSimulator {
  /** Base URL for OpenAI clients, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** Requests answered so far, by HTTP status. */
  stats(): { requests: number; byStatus: Record<string, number> };
  /**
   * Faults injected so far, by `<prompt kind>[:repair]:<fault>` for content faults (for example
   * `construction:malformed`, `construction:repair:malformed`) and by `transport:<429|500|timeout>`.
   */
  faults(): Record<string, number>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Prefix of the `model` field of every response: the simulator never poses as a real model. */
export const MODEL_PREFIX = 'fasforge-simulator/';

/** Fixed `created` timestamp (2024-01-01) so that equal requests get byte-identical responses. */
const CREATED = 1704067200;

const DEFAULT_MODELS = ['simulated-mllm'];

const textPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z.union([z.string(), z.object({ url: z.string() }).passthrough()]),
  })
  .passthrough();
const otherPart = z.object({ type: z.string() }).passthrough();
const contentSchema = z.union([z.string(), z.null(), z.array(z.union([textPart, imagePart, otherPart]))]);

const chatSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(z.object({ role: z.string(), content: contentSchema.optional() }).passthrough()).min(1),
    response_format: z.object({ type: z.string() }).passthrough().nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    stream: z.boolean().nullish(),
  })
  .passthrough();

const completionSchema = z
  .object({
    model: z.string().min(1),
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
    max_tokens: z.number().int().positive().nullish(),
    stream: z.boolean().nullish(),
  })
  .passthrough();

type ChatMessage = z.infer<typeof chatSchema>['messages'][number];

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

/** Text and image count of one chat message. */
function readMessage(message: ChatMessage): { text: string; images: number } {
  const content = message.content;
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content)) return { text: '', images: 0 };
  const texts: string[] = [];
  let images = 0;
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'image_url') images += 1;
  }
  return { text: texts.join('\n'), images };
}

/**
 * The user turns of a Vicuna-style prompt: `"<system> USER: <image>\n{prompt} ASSISTANT:"`, where
 * a repair continues with `" {reply}</s>USER: {message} ASSISTANT:"`.
 */
function readVicunaPrompt(prompt: string): { turns: string[]; images: number } {
  const images = prompt.split('<image>').length - 1;
  const segments = prompt.split('USER:');
  const users = segments.length > 1 ? segments.slice(1) : segments;
  const turns = users.map((segment) => {
    const at = segment.indexOf('ASSISTANT:');
    return (at === -1 ? segment : segment.slice(0, at)).replace(/<image>\s*/g, '').trim();
  });
  return { turns, images };
}

/** Waits `ms`, or less if the client closes the connection or the server stops first. */
function hang(reply: FastifyReply, ms: number, stopping: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      reply.raw.off('close', done);
      stopping.removeEventListener('abort', done);
      resolve();
    }
    reply.raw.once('close', done);
    stopping.addEventListener('abort', done, { once: true });
  });
}

/** Starts the simulator; resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const faults: ResolvedFaults = resolveFaults(options);
  const seed = options.seed ?? 'fasforge';
  const host = options.host ?? '127.0.0.1';
  const allowList = options.models && options.models.length > 0 ? options.models : undefined;
  const listed = allowList ?? DEFAULT_MODELS;
  const tracker = new AttemptTracker();
  const byStatus: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const stopping = new AbortController();
  const note = (key: string) => (injected[key] = (injected[key] ?? 0) + 1);
  let requests = 0;

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });

  app.addHook('onResponse', async (_request, reply) => {
    requests += 1;
    const key = String(reply.statusCode);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  });

  if (options.apiKey) {
    const expected = `Bearer ${options.apiKey}`;
    app.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization === expected) return;
      await reply
        .code(401)
        .send(
          errorBody(
            'Incorrect API key provided (the fasforge simulator was started with a required key).',
            'invalid_request_error',
            'invalid_api_key',
          ),
        );
    });
  }

  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(errorBody(`Unknown route ${request.method} ${request.url}`, 'invalid_request_error', 'not_found'));
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    void reply
      .code(status)
      .send(errorBody(error.message ?? 'error', status < 500 ? 'invalid_request_error' : 'server_error'));
  });

  /** Common checks and faults of a POST; returns false when a reply has already been sent. */
  async function admit(
    model: string,
    hash: string,
    stream: boolean | null | undefined,
    reply: FastifyReply,
  ): Promise<boolean> {
    if (stream) {
      await reply
        .code(400)
        .send(
          errorBody('Streaming is not supported by the fasforge simulator.', 'invalid_request_error', 'unsupported'),
        );
      return false;
    }
    if (allowList && !allowList.includes(model)) {
      await reply
        .code(404)
        .send(
          errorBody(
            `The model '${model}' does not exist on this simulator.`,
            'invalid_request_error',
            'model_not_found',
          ),
        );
      return false;
    }
    const { attempt, fault: transport } = tracker.next(hash, faults);
    const latency = latencyFor(hash, attempt, faults);
    if (latency > 0) await sleep(latency);
    if (transport !== undefined) note(`transport:${transport}`);
    if (transport === 'timeout') {
      await hang(reply, faults.hangMs, stopping.signal);
      if (!reply.raw.destroyed) {
        await reply
          .code(504)
          .send(
            errorBody('The request hung and timed out (simulated by fasforge-simulator).', 'server_error', 'timeout'),
          );
      }
      return false;
    }
    if (transport === 429) {
      await reply
        .code(429)
        .header('retry-after', String(faults.retryAfterSeconds))
        .header('retry-after-ms', String(Math.round(faults.retryAfterSeconds * 1000)))
        .send(errorBody('Rate limit reached (simulated by fasforge-simulator).', 'requests', 'rate_limit_exceeded'));
      return false;
    }
    if (transport === 500) {
      await reply
        .code(500)
        .send(errorBody('The server had an error (simulated by fasforge-simulator).', 'server_error'));
      return false;
    }
    return true;
  }

  function limit(content: string, finishReason: 'stop' | 'length', maxTokens: number | null | undefined) {
    if (maxTokens && countTokens(content) > maxTokens)
      return { content: truncateTokens(content, maxTokens), finishReason: 'length' as const };
    return { content, finishReason };
  }

  app.get('/v1/models', async () => ({
    object: 'list',
    data: listed.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'fasforge-simulator' })),
  }));

  app.post('/v1/chat/completions', async (request, reply) => {
    const parsed = chatSchema.safeParse(request.body);
    if (!parsed.success) {
      return reply
        .code(400)
        .send(
          errorBody(
            `Invalid chat completion request: ${parsed.error.issues[0]?.message ?? 'bad body'}`,
            'invalid_request_error',
          ),
        );
    }
    const body = parsed.data;
    const hash = requestHash(seed, request.body);
    if (!(await admit(body.model, hash, body.stream, reply))) return reply;

    const read = body.messages.map(readMessage);
    const userTurns = body.messages.flatMap((m, i) => (m.role === 'user' ? [read[i]?.text ?? ''] : []));
    const simulated = simulateReply(
      { userTurns, jsonMode: body.response_format?.type === 'json_object', hash },
      faults,
    );
    if (simulated.fault !== 'none') note(`${simulated.kind}${simulated.repair ? ':repair' : ''}:${simulated.fault}`);
    const { content, finishReason } = limit(
      simulated.content,
      simulated.finishReason,
      body.max_completion_tokens ?? body.max_tokens,
    );
    const promptTokens = read.reduce((sum, m) => sum + countTokens(m.text) + m.images * IMAGE_TOKENS, 0);
    const completionTokens = countTokens(content);
    return reply.send({
      id: `chatcmpl-sim-${hash.slice(0, 24)}`,
      object: 'chat.completion',
      created: CREATED,
      model: `${MODEL_PREFIX}${body.model}`,
      system_fingerprint: 'fasforge-simulator',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  });

  app.post('/v1/completions', async (request, reply) => {
    const parsed = completionSchema.safeParse(request.body);
    if (!parsed.success) {
      return reply
        .code(400)
        .send(
          errorBody(
            `Invalid completion request: ${parsed.error.issues[0]?.message ?? 'bad body'}`,
            'invalid_request_error',
          ),
        );
    }
    const body = parsed.data;
    const hash = requestHash(seed, request.body);
    if (!(await admit(body.model, hash, body.stream, reply))) return reply;

    const prompt = typeof body.prompt === 'string' ? body.prompt : (body.prompt[0] ?? '');
    const { turns, images } = readVicunaPrompt(prompt);
    const simulated = simulateReply({ userTurns: turns, jsonMode: false, hash }, faults);
    if (simulated.fault !== 'none') note(`${simulated.kind}${simulated.repair ? ':repair' : ''}:${simulated.fault}`);
    const { content, finishReason } = limit(simulated.content, simulated.finishReason, body.max_tokens);
    const promptTokens = countTokens(prompt.replace(/<image>/g, ' ')) + images * IMAGE_TOKENS;
    const completionTokens = countTokens(content);
    return reply.send({
      id: `cmpl-sim-${hash.slice(0, 24)}`,
      object: 'text_completion',
      created: CREATED,
      model: `${MODEL_PREFIX}${body.model}`,
      system_fingerprint: 'fasforge-simulator',
      choices: [{ index: 0, text: content, logprobs: null, finish_reason: finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  });

  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}/v1`,
    stats: () => ({ requests, byStatus: { ...byStatus } }),
    faults: () => ({ ...injected }),
    close: () => {
      stopping.abort();
      return app.close();
    },
  };
}
