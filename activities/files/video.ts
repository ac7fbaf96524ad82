/**
 * Video frames with ffmpeg (the system's ffmpeg and ffprobe on PATH): counts a video's frames from
 * its packets without decoding, then decodes only the evenly spaced frames a budget allows, as PNG.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SourceLayoutError } from './source-entry';

const run = promisify(execFile);

let ffmpegChecked: Promise<void> | undefined;

/** Fails with what to install when ffmpeg or ffprobe is not on PATH. */
export function ensureFfmpeg(): Promise<void> {
  ffmpegChecked ??= Promise.all([run('ffmpeg', ['-version']), run('ffprobe', ['-version'])]).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => {
      ffmpegChecked = undefined;
      throw new SourceLayoutError(
        `video sources need ffmpeg and ffprobe on PATH (${err.code ?? err.message}); install them with ` +
          '`apt-get install -y ffmpeg` (or run scripts/ensure-system-packages.sh as root)',
      );
    },
  );
  return ffmpegChecked;
}

/** Indices of `budget` frames spread evenly over `count`, each at the middle of its share. */
export function evenlySpaced(count: number, budget: number): number[] {
  if (count <= budget) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: budget }, (_, k) => Math.floor(((k + 0.5) * count) / budget));
}

export async function countFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    file,
  ]);
  const n = Number.parseInt(stdout.trim(), 10);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`ffprobe found no video frames in ${file}`);
  return n;
}

export interface VideoFrame {
  index: number;
  png: Buffer;
}

/** The video's frames chosen by `evenlySpaced`, decoded to PNG, plus the video's frame count. */
export async function sampleVideoFrames(
  file: string,
  budget: number,
): Promise<{ count: number; frames: VideoFrame[] }> {
  await ensureFfmpeg();
  const count = await countFrames(file);
  const wanted = evenlySpaced(count, budget);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fasforge-frames-'));
  try {
    const select = wanted.map((i) => `eq(n\\,${i})`).join('+');
    await run('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-i',
      file,
      '-vf',
      `select='${select}'`,
      '-fps_mode',
      'passthrough',
      '-frames:v',
      String(wanted.length),
      path.join(dir, 'f-%06d.png'),
    ]);
    const names = (await fs.readdir(dir)).sort();
    const frames = await Promise.all(
      names.map(async (name, k) => ({ index: wanted[k] ?? k, png: await fs.readFile(path.join(dir, name)) })),
    );
    return { count, frames };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
