/**
 * ONNX Runtime session loading: CUDA first, CPU when the CUDA provider cannot be loaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

import type { ClipLogger } from './types';

/** Execution provider a session ended up on. */
export type ClipProvider = 'cuda' | 'cpu';

/** A loaded session and the provider it runs on. */
export interface LoadedSession {
  session: ort.InferenceSession;
  provider: ClipProvider;
}

/** Options for {@link loadSession}. */
export interface LoadSessionOptions {
  /** Receives the one-per-process warning when CUDA is unavailable. */
  logger: ClipLogger;
  /** Try CUDA first (default true). With false the CPU provider is used directly. */
  preferGpu?: boolean;
  /** Extra session options (execution providers are chosen here and override any given). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

// Once CUDA failed in this process it is not tried again, and the fallback is logged once.
let cudaFailure: string | undefined;
let fallbackLogged = false;

/**
 * Creates an inference session for `modelPath`, trying execution providers `['cuda']` first and
 * falling back to `['cpu']` when CUDA fails to load. The fallback is logged through
 * `logger.warn` once per process, with the reason.
 */
export async function loadSession(modelPath: string, options: LoadSessionOptions): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...options.sessionOptions };
  const preferGpu = options.preferGpu ?? true;
  let cudaError: string | undefined;
  if (preferGpu && cudaFailure === undefined && !cudaLibraryPresent()) {
    cudaError = 'the CUDA provider library is not installed (a GPU worker installs it with `npm run setup:gpu`)';
  } else if (preferGpu && cudaFailure === undefined) {
    try {
      const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda'] });
      return { session, provider: 'cuda' };
    } catch (err) {
      cudaError = err instanceof Error ? err.message : String(err);
    }
  }
  // A CPU failure too means the model itself is at fault: let it surface, and keep CUDA eligible.
  const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
  if (cudaError !== undefined) cudaFailure = cudaError;
  if (preferGpu && cudaFailure !== undefined && !fallbackLogged) {
    fallbackLogged = true;
    options.logger.warn('CUDA execution provider unavailable; running CLIP on the CPU', {
      reason: cudaFailure,
      model: modelPath,
    });
  }
  return { session, provider: 'cpu' };
}

/**
 * onnxruntime-node ships the CUDA provider as a separate library that its install step downloads
 * only on request; without it a CUDA session cannot load, so it is not tried (which would also
 * print a native error line).
 */
function cudaLibraryPresent(): boolean {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  return (
    fs.existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so')) ||
    fs.existsSync(path.join(dir, 'onnxruntime_providers_cuda.dll'))
  );
}

/** Why CUDA could not be used in this process, once a load has fallen back to the CPU. */
export function cudaUnavailableReason(): string | undefined {
  return cudaFailure;
}
