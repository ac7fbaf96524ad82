/**
 * `fasforge models download clip`: fetches OpenAI's CLIP ViT-B/32 as two ONNX towers and its BPE
 * vocabulary into FASFORGE_HOME/models/clip-vit-base-patch32, checks every file's sha256, writes
 * the model.json the CLIP worker reads, and loads the result once to prove it works.
 *
 * The towers come from the Hugging Face repository Xenova/clip-vit-base-patch32 (the ONNX export
 * of openai/clip-vit-base-patch32 that transformers.js uses), resolved to a commit first so that
 * every file comes from one revision; their sha256 are those the Hub publishes for that commit
 * (the Git LFS object ids). The vocabulary is the file OpenAI ships with CLIP, checked against a
 * sha256 pinned here.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { Command } from 'commander';

import { CLIP_MANIFEST_FILE, loadClipModel, type ClipManifest } from '../activities/clip';
import { parseEnv } from '../config/env';

/** Where the real CLIP model comes from. */
export const CLIP_SOURCE = {
  id: 'openai/clip-vit-base-patch32',
  repo: 'Xenova/clip-vit-base-patch32',
  revision: 'main',
  vision: 'onnx/vision_model.onnx',
  text: 'onnx/text_model.onnx',
  vocabUrl: 'https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz',
  /** sha256 of CLIP's `bpe_simple_vocab_16e6.txt.gz` (the same file open_clip bundles). */
  vocabSha256: '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a',
  endpoint: 'https://huggingface.co',
} as const;

/** Folder name of the downloaded model under FASFORGE_HOME/models. */
export const CLIP_MODEL_FOLDER = 'clip-vit-base-patch32';

export interface DownloadClipOptions {
  /** Destination folder. */
  dir: string;
  /** Hugging Face endpoint (default https://huggingface.co). */
  endpoint?: string;
  /** Branch, tag or commit of the repository (default main). */
  revision?: string;
  /** Where the vocabulary is fetched from. */
  vocabUrl?: string;
  /** Progress lines. */
  log: (line: string) => void;
}

export interface DownloadedClip {
  dir: string;
  commit: string;
  files: { name: string; bytes: number; sha256: string; fetched: boolean }[];
}

/** A download that failed: says what and why, and what the user can do. */
export class ModelDownloadError extends Error {
  override readonly name = 'ModelDownloadError';
}

interface TreeEntry {
  path: string;
  size?: number;
  lfs?: { oid: string; size: number };
}

/** Downloads (or completes) the CLIP model in `options.dir` and writes its model.json. */
export async function downloadClip(options: DownloadClipOptions): Promise<DownloadedClip> {
  const endpoint = (options.endpoint ?? CLIP_SOURCE.endpoint).replace(/\/+$/, '');
  const revision = options.revision ?? CLIP_SOURCE.revision;
  const repoApi = `${endpoint}/api/models/${CLIP_SOURCE.repo}`;
  await mkdir(options.dir, { recursive: true });

  const info = await getJson<{ sha?: string }>(`${repoApi}/revision/${encodeURIComponent(revision)}`);
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha)) {
    throw new ModelDownloadError(`${repoApi}/revision/${revision} did not name a commit`);
  }
  const commit = info.sha;
  options.log(`${CLIP_SOURCE.repo} at ${revision} is commit ${commit}`);
  const tree = await getJson<TreeEntry[]>(`${repoApi}/tree/${commit}/onnx`);

  const files: DownloadedClip['files'] = [];
  for (const [name, remote] of [
    ['vision.onnx', CLIP_SOURCE.vision],
    ['text.onnx', CLIP_SOURCE.text],
  ] as const) {
    const entry = Array.isArray(tree) ? tree.find((e) => e.path === remote) : undefined;
    const sha256 = entry?.lfs?.oid;
    if (entry === undefined || sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new ModelDownloadError(`${CLIP_SOURCE.repo}@${commit} lists no sha256 for ${remote}`);
    }
    const url = `${endpoint}/${CLIP_SOURCE.repo}/resolve/${commit}/${remote}`;
    files.push(await fetchVerified(url, path.join(options.dir, name), sha256, options.log));
  }
  files.push(
    await fetchVerified(
      options.vocabUrl ?? CLIP_SOURCE.vocabUrl,
      path.join(options.dir, 'bpe_simple_vocab_16e6.txt.gz'),
      CLIP_SOURCE.vocabSha256,
      options.log,
    ),
  );

  const manifest: ClipManifest = {
    id: CLIP_SOURCE.id,
    standIn: false,
    description: `OpenAI CLIP ViT-B/32, ONNX towers from huggingface.co/${CLIP_SOURCE.repo} at ${commit}`,
    embedDim: 512,
    contextLength: 77,
    imageSize: 224,
    mean: [0.48145466, 0.4578275, 0.40821073],
    std: [0.26862954, 0.26130258, 0.27577711],
    vision: 'vision.onnx',
    text: 'text.onnx',
    vocab: 'bpe_simple_vocab_16e6.txt.gz',
    vocabSize: 49408,
    files: Object.fromEntries(files.map((f) => [f.name, f.sha256])),
  };
  await writeFile(path.join(options.dir, CLIP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: options.dir, commit, files };
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw unreachable(url, err);
  }
  if (!res.ok) throw new ModelDownloadError(`${url} answered ${res.status} ${res.statusText}`);
  return (await res.json()) as T;
}

function unreachable(url: string, err: unknown): ModelDownloadError {
  const reason = err instanceof Error ? String(err.cause ?? err.message) : String(err);
  return new ModelDownloadError(
    `cannot reach ${url} (${reason}). The download needs huggingface.co and raw.githubusercontent.com; ` +
      'offline, copy a CLIP model folder (model.json, two ONNX towers, vocabulary) and set FASFORGE_CLIP_MODEL_DIR',
  );
}

async function sha256Of(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/** Downloads `url` to `dest` unless a file with the right sha256 is there; refuses a wrong checksum. */
async function fetchVerified(
  url: string,
  dest: string,
  sha256: string,
  log: (line: string) => void,
): Promise<DownloadedClip['files'][number]> {
  const name = path.basename(dest);
  if ((await sha256Of(dest)) === sha256) {
    const { size } = await stat(dest);
    log(`${name}: already present, sha256 ${sha256}`);
    return { name, bytes: size, sha256, fetched: false };
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw unreachable(url, err);
  }
  if (!res.ok || res.body === null) throw new ModelDownloadError(`${url} answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const hash = createHash('sha256');
  let bytes = 0;
  let reported = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (total > 0 && bytes / total >= reported + 0.1) {
        reported = Math.floor((bytes / total) * 10) / 10;
        log(`${name}: ${Math.round(reported * 100)}% of ${(total / 1e6).toFixed(0)} MB`);
      }
      done(null, chunk);
    },
  });
  const part = `${dest}.part`;
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), meter, createWriteStream(part));
  const actual = hash.digest('hex');
  if (actual !== sha256) {
    await rm(part, { force: true });
    throw new ModelDownloadError(`${url}: sha256 ${actual} does not match the expected ${sha256}; nothing was kept`);
  }
  await rename(part, dest);
  log(`${name}: ${(bytes / 1e6).toFixed(1)} MB, sha256 ${actual} verified`);
  return { name, bytes, sha256, fetched: true };
}

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('fetch the model files fasforge runs itself');
  models
    .command('download <model>')
    .description(
      'download a model (only "clip": OpenAI CLIP ViT-B/32 as ONNX), verify its checksums and say where it went',
    )
    .option('--dir <dir>', 'destination folder (default FASFORGE_HOME/models/clip-vit-base-patch32)')
    .option('--revision <rev>', `branch, tag or commit of ${CLIP_SOURCE.repo}`, CLIP_SOURCE.revision)
    .option('--endpoint <url>', 'Hugging Face endpoint, for a mirror', CLIP_SOURCE.endpoint)
    .action(async (model: string, o: { dir?: string; revision: string; endpoint?: string }) => {
      if (model !== 'clip') throw new Error(`unknown model "${model}"; the one model fasforge downloads is "clip"`);
      const env = parseEnv();
      const dir = path.resolve(o.dir ?? path.join(env.home, 'models', CLIP_MODEL_FOLDER));
      const result = await downloadClip({
        dir,
        revision: o.revision,
        ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
        log: (line) => console.log(line),
      });
      const scorer = await loadClipModel(dir, {
        logger: { info: () => undefined, warn: (msg) => console.log(msg) },
        verifyChecksums: true,
      });
      const provider = scorer.provider;
      await scorer.close();
      console.log(`CLIP model ${CLIP_SOURCE.id} (${CLIP_SOURCE.repo}@${result.commit}) loads on the ${provider}`);
      for (const f of result.files) console.log(`  ${path.join(dir, f.name)}  sha256 ${f.sha256}`);
      console.log(`model files in ${dir}`);
      console.log(`use it: export FASFORGE_CLIP_MODEL_DIR=${dir}`);
    });
}
