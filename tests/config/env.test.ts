/**
 * Parsing the worker and CLI environment.
 */
import fs from 'node:fs';
import os from 'node:os';
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
  test.each([
    ['FASFORGE_MODEL_TIMEOUT_MS', 'abc'],
    ['FASFORGE_LLM_CONCURRENCY', '2x'],
    ['FASFORGE_VISION_MAX_IN_FLIGHT', 'many'],
    ['FASFORGE_LLM_ACTIVITIES_PER_SECOND', '1.5'],
  ])('reports %s=%s with the text given, not NaN', (name, value) => {
    const msg = errorOf({ [name]: value }).message;
    expect(msg).toContain(`${name}: `);
    expect(msg).toContain(`received "${value}"`);
    expect(msg).not.toMatch(/NaN/);
  });

  test.each([
    ['FASFORGE_VISION_BASE_URL', 'notaurl'],
    ['FASFORGE_TEXT_BASE_URL', 'ftp://models.example/v1'],
    ['FASFORGE_TEXT_BASE_URL', '127.0.0.1:8400/v1'],
  ])('rejects %s=%s as not an http(s) URL', (name, value) => {
    const msg = errorOf({ [name]: value }).message;
    expect(msg).toContain(`${name}: expected an http(s) URL`);
    expect(msg).toContain(`received "${value}"`);
  });

  test('accepts http and https model URLs', () => {
    const env = parseEnv({
      FASFORGE_VISION_BASE_URL: 'https://api.example/v1',
      FASFORGE_TEXT_BASE_URL: 'http://h:1/v1',
    });
    expect([env.vision.baseUrl, env.text.baseUrl]).toEqual(['https://api.example/v1', 'http://h:1/v1']);
  });

  test('refuses a FASFORGE_HOME that is a file, or lies under one', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-env-')), 'a-file');
    fs.writeFileSync(file, 'x');
    expect(errorOf({ FASFORGE_HOME: file }).message).toBe(
      `bad environment: FASFORGE_HOME (${file}) is a file; point it at a folder`,
    );
    expect(errorOf({ FASFORGE_HOME: path.join(file, 'home') }).message).toContain(`lies under ${file}, a file`);
    expect(parseEnv({ FASFORGE_HOME: path.join(path.dirname(file), 'new', 'home') }).home).toBe(
      path.join(path.dirname(file), 'new', 'home'),
    );
  });
});
