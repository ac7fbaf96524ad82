/**
 * CUDA-then-CPU session loading when the CUDA provider library is present but cannot load (as on
 * a worker whose CUDA or cuDNN runtime is missing): ONNX Runtime's own CUDA attempt fails here for
 * real, and the session must come up on the CPU with the fallback logged once per process.
 */
import fs from 'node:fs';
import * as path from 'node:path';

import type * as ortTypes from 'onnxruntime-node';

import type * as sessionModule from '../../../activities/clip/session';

const MODEL_DIR = path.resolve(__dirname, '../../fixtures/clip-golden/model');

test('falls back to the CPU when the CUDA provider fails to load, and logs it once for the process', async () => {
  let session!: typeof sessionModule;
  let ort!: typeof ortTypes;
  jest.isolateModules(() => {
    ort = require('onnxruntime-node') as typeof ortTypes;
    session = require('../../../activities/clip/session') as typeof sessionModule;
  });
  ort.env.logLevel = 'fatal';
  // Pretend the CUDA provider library was installed (`npm run setup:gpu`) so that CUDA is tried.
  const realExists = fs.existsSync;
  const exists = jest
    .spyOn(fs, 'existsSync')
    .mockImplementation((p) => /onnxruntime_providers_cuda/.test(String(p)) || realExists(p));
  const tried: string[][] = [];
  const realCreate = ort.InferenceSession.create.bind(ort.InferenceSession) as (
    p: string,
    o?: ortTypes.InferenceSession.SessionOptions,
  ) => Promise<ortTypes.InferenceSession>;
  const create = jest.spyOn(ort.InferenceSession, 'create').mockImplementation(((
    p: string,
    o?: ortTypes.InferenceSession.SessionOptions,
  ) => {
    tried.push((o?.executionProviders ?? []).map((e) => (typeof e === 'string' ? e : e.name)));
    return realCreate(p, o);
  }) as typeof ort.InferenceSession.create);
  const warnings: { msg: string; attrs?: Record<string, unknown> }[] = [];
  const logger = {
    info: () => undefined,
    warn: (msg: string, attrs?: Record<string, unknown>) => warnings.push({ msg, attrs }),
  };
  try {
    const vision = await session.loadSession(path.join(MODEL_DIR, 'vision.onnx'), { logger });
    const text = await session.loadSession(path.join(MODEL_DIR, 'text.onnx'), { logger });
    expect(vision.provider).toBe('cpu');
    expect(text.provider).toBe('cpu');
    // CUDA was really attempted once; after it failed only the CPU was asked for.
    expect(tried).toEqual([['cuda'], ['cpu'], ['cpu']]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/CUDA execution provider unavailable; running CLIP on the CPU/);
    expect(String(warnings[0]?.attrs?.reason)).not.toHaveLength(0);
    expect(session.cudaUnavailableReason()).toBe(warnings[0]?.attrs?.reason);
    // The CPU session is a working one.
    const out = await vision.session.run({
      pixel_values: new ort.Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]),
    });
    expect(out.image_embeds?.dims).toEqual([1, 32]);
    await vision.session.release();
    await text.session.release();
  } finally {
    exists.mockRestore();
    create.mockRestore();
  }
});
