/**
 * Cataloguing bad input: every broken file is rejected with its reason, the good images are
 * accepted, and nothing outside the dataset root is read.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { catalogReport } from '../../../cli/catalog';

const root = path.resolve(__dirname, '..', '..', '..');
const samples = path.join(root, 'samples', 'siw-mv2');
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-catalog-'));
  fs.mkdirSync(path.join(dir, 'img'));
  fs.copyFileSync(path.join(samples, 'Live', 'astronaut-01.jpg'), path.join(dir, 'img', 'good-live.jpg'));
  fs.copyFileSync(path.join(samples, 'Spoof', 'Print', 'camera-01.jpg'), path.join(dir, 'img', 'good-print.jpg'));
  fs.copyFileSync(path.join(samples, 'Spoof', 'Replay', 'hopper-01.jpg'), path.join(dir, 'img', 'good-replay.jpg'));
  const jpeg = fs.readFileSync(path.join(samples, 'Live', 'hopper-02.jpg'));
  fs.writeFileSync(path.join(dir, 'img', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  fs.writeFileSync(path.join(dir, 'img', 'empty.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'img', 'notes.png'), 'these are notes, not a picture\n');
  // A solid 20000×20000 PNG compresses to about a megabyte: a decompression bomb made cheaply.
  await sharp({ create: { width: 20000, height: 20000, channels: 3, background: '#000' }, limitInputPixels: false })
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toFile(path.join(dir, 'img', 'bomb.png'));
  const rows = [
    ['img/good-live.jpg', 'live', '', 'alice'],
    ['img/good-print.jpg', 'spoof', 'print', 'bob'],
    ['img/good-replay.jpg', 'spoof', 'replay attack', 'carol'],
    ['img/truncated.jpg', 'live', '', 'dave'],
    ['img/empty.jpg', 'live', '', 'erin'],
    ['img/notes.png', 'live', '', 'frank'],
    ['img/bomb.png', 'spoof', 'print', 'grace'],
    ['../../etc/passwd', 'live', '', 'heidi'],
  ];
  fs.writeFileSync(
    path.join(dir, 'manifest.csv'),
    ['path,label,attack_type,subject', ...rows.map((r) => r.join(','))].join('\n'),
  );
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a manifest with five broken entries rejects exactly those five, each with its reason', async () => {
  const report = await catalogReport([{ adapter: 'manifest', root: path.join(dir, 'manifest.csv') }]);
  const rejected = Object.fromEntries(report.rejected.map((r) => [r.path, r.reason]));
  expect(rejected).toEqual({
    'img/truncated.jpg': 'corrupt_image',
    'img/empty.jpg': 'empty_file',
    'img/notes.png': 'not_an_image',
    'img/bomb.png': 'too_many_pixels',
    '../../etc/passwd': 'outside_root',
  });
  expect(report.accepted).toBe(3);
  expect(report.byClass).toEqual({ Bonafide: 1, Print: 1, Replay: 1 });
  expect(Object.values(report.bySplit).reduce((a, b) => a + b, 0)).toBe(3);
  const bomb = report.rejected.find((r) => r.path === 'img/bomb.png')!;
  expect(bomb.detail).toContain('20000×20000');
  expect(report.rejected.find((r) => r.path === '../../etc/passwd')!.detail).toContain('outside');
});

test('absolute paths elsewhere and symlinks leading out of the root are refused', async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-outside-'));
  try {
    fs.copyFileSync(path.join(samples, 'Live', 'camera-01.jpg'), path.join(outside, 'secret.jpg'));
    fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(dir, 'img', 'link.jpg'));
    const manifest = path.join(dir, 'links.jsonl');
    fs.writeFileSync(
      manifest,
      [
        { path: path.join(outside, 'secret.jpg'), label: 'live' },
        { path: 'img/link.jpg', label: 'live' },
        { path: path.join(dir, 'img', 'good-live.jpg'), label: 'live' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const report = await catalogReport([{ adapter: 'manifest', root: manifest }]);
    expect(report.accepted).toBe(1);
    expect(report.rejected.map((r) => r.reason)).toEqual(['outside_root', 'outside_root']);
    expect(report.rejected[1]!.detail).toContain('symlink');
  } finally {
    fs.rmSync(path.join(dir, 'img', 'link.jpg'), { force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('fasforge catalog --json prints one JSON object; copies across sources are dropped naming the kept image', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      path.join(root, 'cli', 'bin.js'),
      'catalog',
      '--source',
      `siw-mv2:${samples}`,
      '--source',
      `manifest:${path.join(dir, 'manifest.csv')}`,
      '--json',
    ],
    { env: { ...process.env, FASFORGE_HOME: path.join(dir, 'home') } },
  );
  const report = JSON.parse(stdout);
  expect(Object.keys(report).sort()).toEqual(['accepted', 'byClass', 'bySplit', 'rejected']);
  const fromManifest = report.rejected.filter((r: { source: string }) => r.source === 'manifest-2');
  // The manifest's three good images are byte copies of bundled samples listed first.
  expect(fromManifest.map((r: { reason: string }) => r.reason).sort()).toEqual([
    'corrupt_image',
    'duplicate_content',
    'duplicate_content',
    'duplicate_content',
    'empty_file',
    'not_an_image',
    'outside_root',
    'too_many_pixels',
  ]);
  expect(fromManifest[0].detail).toBe('same bytes as siw-mv2-1/Live/astronaut-01.jpg, which is kept');
  expect(report.accepted).toBeGreaterThan(30);
}, 60_000);

const runCatalog = (args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(root, 'cli', 'bin.js'), 'catalog', ...args], {
    env: { ...process.env, FASFORGE_HOME: path.join(dir, 'home') },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );

// Regression: a catalogue that accepted nothing exited 0.
test('fasforge catalog prints the rejections, then exits non-zero when no image is accepted', async () => {
  const bad = path.join(dir, 'all-bad.csv');
  fs.writeFileSync(bad, ['path,label', 'img/empty.jpg,live', 'img/notes.png,live'].join('\n'));
  const run = await runCatalog(['--source', `manifest:${bad}`]);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('accepted: 0');
  expect(run.stdout).toContain('manifest-1/img/empty.jpg: empty_file');
  expect(run.stdout).toContain('manifest-1/img/notes.png: not_an_image');
  expect(run.stderr).toContain(
    `fasforge: no image accepted from "manifest-1" (${bad}); rejections by reason: empty_file 1, not_an_image 1`,
  );
}, 60_000);

// Regression: `--protocol nonsense` on SiW-Mv2 exited 0 with every image not_in_protocol.
test('fasforge catalog --protocol on SiW-Mv2 fails, saying which adapters have protocols', async () => {
  const run = await runCatalog(['--source', `siw-mv2:${samples}`, '--protocol', 'nonsense']);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain('siw-mv2 has no protocol lists');
  expect(run.stderr).toContain('Adapters with protocols: wmca');
}, 60_000);
