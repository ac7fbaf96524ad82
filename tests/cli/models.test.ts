/**
 * `fasforge models download clip` against a local HTTP server that answers as the Hugging Face
 * Hub and GitHub do (revision, tree with LFS sha256, file downloads): files land in the folder
 * under their manifest names, every checksum is verified, a wrong one keeps nothing, and files
 * already present are not fetched again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { clipManifestSchema } from '../../activities/clip';
import { CLIP_SOURCE, ModelDownloadError, downloadClip } from '../../cli/models';

const MODEL = path.resolve(__dirname, '../fixtures/clip-golden/model');
const COMMIT = 'a'.repeat(40);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const vision = readFileSync(path.join(MODEL, 'vision.onnx'));
const text = readFileSync(path.join(MODEL, 'text.onnx'));
const vocab = readFileSync(path.join(MODEL, 'bpe_simple_vocab_16e6.txt.gz'));

let server: Server;
let endpoint: string;
let visionSha = sha(vision);
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const repo = `/api/models/${CLIP_SOURCE.repo}`;
    const send = (body: Buffer | string, type = 'application/octet-stream') => {
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (url === `${repo}/revision/main`) return send(JSON.stringify({ sha: COMMIT }), 'application/json');
    if (url === `${repo}/tree/${COMMIT}/onnx`) {
      return send(
        JSON.stringify([
          { path: CLIP_SOURCE.vision, lfs: { oid: visionSha, size: vision.length } },
          { path: CLIP_SOURCE.text, lfs: { oid: sha(text), size: text.length } },
        ]),
        'application/json',
      );
    }
    if (url === `/${CLIP_SOURCE.repo}/resolve/${COMMIT}/${CLIP_SOURCE.vision}`) return send(vision);
    if (url === `/${CLIP_SOURCE.repo}/resolve/${COMMIT}/${CLIP_SOURCE.text}`) return send(text);
    if (url === '/vocab.txt.gz') return send(vocab);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const log = () => undefined;

test("the pinned vocabulary checksum is that of CLIP's own vocabulary file", () => {
  expect(sha(vocab)).toBe(CLIP_SOURCE.vocabSha256);
});

test('downloads the towers of one commit and the vocabulary, verifies them and writes model.json', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fasforge-models-'));
  try {
    const out = await downloadClip({ dir, endpoint, vocabUrl: `${endpoint}/vocab.txt.gz`, log });
    expect(out.commit).toBe(COMMIT);
    expect((await readdir(dir)).sort()).toEqual([
      'bpe_simple_vocab_16e6.txt.gz',
      'model.json',
      'text.onnx',
      'vision.onnx',
    ]);
    expect(sha(await readFile(path.join(dir, 'vision.onnx')))).toBe(sha(vision));
    const manifest = clipManifestSchema.parse(JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      id: 'openai/clip-vit-base-patch32',
      standIn: false,
      embedDim: 512,
      vocabSize: 49408,
    });
    expect(manifest.files).toEqual({
      'vision.onnx': sha(vision),
      'text.onnx': sha(text),
      'bpe_simple_vocab_16e6.txt.gz': CLIP_SOURCE.vocabSha256,
    });
    expect(manifest.description).toContain(COMMIT);

    requests.length = 0;
    const again = await downloadClip({ dir, endpoint, vocabUrl: `${endpoint}/vocab.txt.gz`, log });
    expect(again.files.every((f) => !f.fetched)).toBe(true);
    expect(requests.some((r) => r.includes('/resolve/'))).toBe(false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses a file whose sha256 differs from the published one and keeps nothing of it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fasforge-models-'));
  visionSha = 'b'.repeat(64);
  try {
    const err = await downloadClip({ dir, endpoint, vocabUrl: `${endpoint}/vocab.txt.gz`, log }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect((err as Error).message).toMatch(/sha256 .* does not match/);
    expect(await readdir(dir)).toEqual([]);
  } finally {
    visionSha = sha(vision);
    await rm(dir, { recursive: true, force: true });
  }
});

test('says what it could not reach and what to do offline', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fasforge-models-'));
  try {
    await expect(downloadClip({ dir, endpoint: 'http://127.0.0.1:9', log })).rejects.toThrow(
      /cannot reach http:\/\/127\.0\.0\.1:9\/api\/models.*FASFORGE_CLIP_MODEL_DIR/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
