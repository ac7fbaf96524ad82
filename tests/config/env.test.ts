/**
 * Parsing the worker and CLI environment.
 */
import path from 'node:path';
import { EnvError, parseEnv, projectRoot } from '../../config/env';

function errorOf(env: NodeJS.ProcessEnv): EnvError {
  try {
    parseEnv(env);
  } catch (err) {
    if (err instanceof EnvError) return err;
    throw err;
  }
  throw new Error('expected the environment to be rejected');
}

describe('parseEnv', () => {
  test('applies the defaults to an empty environment', () => {
    expect(parseEnv({})).toEqual({
      home: path.join(projectRoot, '.fasforge'),
      databaseUrl: undefined,
      temporalAddress: undefined,
      namespace: 'default',
      temporalCli: undefined,
      vision: { baseUrl: undefined, apiKey: undefined, model: 'bunny-llama-3-8b-v' },
      text: { baseUrl: undefined, apiKey: undefined, model: 'llama-3-8b-instruct' },
      modelTimeoutMs: 120_000,
      clipModelDir: path.join(projectRoot, 'models', 'tiny-clip-standin'),
      llmConcurrency: 8,
      llmActivitiesPerSecond: 0,
      temporalUiUrl: undefined,
      tracing: { mode: 'off', otlpEndpoint: undefined },
    });
  });

  test('treats every empty string as unset', () => {
    const keys = [
      'FASFORGE_HOME',
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_CLI',
      'FASFORGE_VISION_BASE_URL',
      'FASFORGE_VISION_API_KEY',
      'FASFORGE_VISION_MODEL',
      'FASFORGE_TEXT_BASE_URL',
      'FASFORGE_TEXT_API_KEY',
      'FASFORGE_TEXT_MODEL',
      'FASFORGE_MODEL_TIMEOUT_MS',
      'FASFORGE_CLIP_MODEL_DIR',
      'FASFORGE_LLM_CONCURRENCY',
      'FASFORGE_LLM_ACTIVITIES_PER_SECOND',
      'TEMPORAL_UI_URL',
      'FASFORGE_TRACING',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ];
    expect(parseEnv(Object.fromEntries(keys.map((k) => [k, ''])))).toEqual(parseEnv({}));
  });

  test('reads given values', () => {
    const env = parseEnv({
      FASFORGE_HOME: '/tmp/fasforge-home',
      DATABASE_URL: 'postgres://u@h/db',
      TEMPORAL_NAMESPACE: 'builds',
      FASFORGE_VISION_BASE_URL: 'http://127.0.0.1:1/v1',
      FASFORGE_VISION_API_KEY: 'k',
      FASFORGE_TEXT_MODEL: 'llama',
      FASFORGE_MODEL_TIMEOUT_MS: '5000',
      FASFORGE_LLM_CONCURRENCY: '2',
      FASFORGE_LLM_ACTIVITIES_PER_SECOND: '3',
    });
    expect(env).toMatchObject({
      home: '/tmp/fasforge-home',
      databaseUrl: 'postgres://u@h/db',
      namespace: 'builds',
      vision: { baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k', model: 'bunny-llama-3-8b-v' },
      text: { model: 'llama' },
      modelTimeoutMs: 5000,
      llmConcurrency: 2,
      llmActivitiesPerSecond: 3,
    });
  });

  test('rejects a FASFORGE_MODEL_TIMEOUT_MS that is not a number and names it', () => {
    const err = errorOf({ FASFORGE_MODEL_TIMEOUT_MS: 'two minutes' });
    expect(err.name).toBe('EnvError');
    expect(err.message).toMatch(/^bad environment: FASFORGE_MODEL_TIMEOUT_MS: /);
  });

  test.each(['500', '1500.5', '-1'])('rejects FASFORGE_MODEL_TIMEOUT_MS=%s and names it', (value) => {
    expect(errorOf({ FASFORGE_MODEL_TIMEOUT_MS: value }).message).toContain('FASFORGE_MODEL_TIMEOUT_MS');
  });

  test('rejects a zero FASFORGE_LLM_CONCURRENCY and names it', () => {
    expect(errorOf({ FASFORGE_LLM_CONCURRENCY: '0' }).message).toContain('FASFORGE_LLM_CONCURRENCY');
  });

  test('does not read process.env when a source is given', () => {
    const saved = process.env.FASFORGE_VISION_MODEL;
    process.env.FASFORGE_VISION_MODEL = 'from-process-env';
    try {
      expect(parseEnv({}).vision.model).toBe('bunny-llama-3-8b-v');
    } finally {
      if (saved === undefined) delete process.env.FASFORGE_VISION_MODEL;
      else process.env.FASFORGE_VISION_MODEL = saved;
    }
  });
});
