/**
 * Each adapter on its bundled fixture (samples/<dataset>/), and the taxonomy's mapping of every
 * native code the datasets document (/work/shared/spec/datasets.md), written out here by hand.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalogSources, type CatalogRow } from '../../../activities/files/catalog';
import { SourceLayoutError } from '../../../activities/files/source-entry';
import { loadAssets, mapNativeCode } from '../../../config/assets';
import { parseBuildInput, type BuildInput } from '../../../config/build-input';

const samples = path.resolve(__dirname, '..', '..', '..', 'samples');
const { taxonomy } = loadAssets();
type Source = BuildInput['sources'][number];

async function catalog(source: Omit<Source, 'name'>): Promise<CatalogRow[]> {
  const input = parseBuildInput({ sources: [{ name: 'fixture', ...source }] });
  return catalogSources(input.sources, taxonomy);
}
const ok = (rows: CatalogRow[]) => rows.filter((r) => r.status === 'ok');
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => String(a + i).padStart(2, '0'));
const cls = (adapter: string, code: string) => mapNativeCode(taxonomy, adapter, code)?.class;

describe('the taxonomy maps every documented native code', () => {
  test('WMCA type and PAI codes, with wigs excluded for a reason', () => {
    const expected: [string, string[], string | null][] = [
      ['0', ['00', '01', '02'], 'Bonafide'],
      ['1', ['01', '04', '05', '06', '07', '15', '16'], 'Glasses'],
      ['1', ['02', '13', '14'], 'Rigid mask'],
      ['1', range(8, 12), null],
      ['2', range(1, 7), 'Fakehead'],
      ['2', range(8, 11), 'Paper mask'],
      ['2', range(12, 17), 'Rigid mask'],
      ['2', ['18', ...range(75, 99)], 'Flexible mask'],
      ['3', ['01', '02', '03', '04', '06', '07', '08', '09', '11', '12', '13', '14'], 'Print'],
      ['3', ['05', '10', '15'], 'Replay'],
      ['4', range(1, 18), 'Replay'],
      ['5', ['01', '02', '07'], 'Makeup'],
    ];
    for (const [type, pais, want] of expected) {
      for (const pai of pais)
        expect([`${type}_${pai}`, cls('wmca', `${type}_${pai}`)]).toEqual([`${type}_${pai}`, want]);
    }
    expect(mapNativeCode(taxonomy, 'wmca', '1_08')).toMatchObject({
      name: 'wig',
      reason: expect.stringContaining('wig'),
    });
    expect(mapNativeCode(taxonomy, 'wmca', '1_03')).toBeUndefined();
  });

  test('PADISI-Face ground-truth codes', () => {
    const want = [
      'Glasses',
      'Print',
      'Fakehead',
      'Rigid mask',
      'Rigid mask',
      'Makeup',
      'Flexible mask',
      'Glasses',
      'Tattoo',
    ];
    expect(cls('padisi', 'm00000')).toBe('Bonafide');
    want.forEach((c, i) => expect([i + 1, cls('padisi', `m5${String(i + 1).padStart(2, '0')}`)]).toEqual([i + 1, c]));
  });

  test('CelebA-Spoof spoof types 0–10', () => {
    const want = [
      'Bonafide',
      'Print',
      'Print',
      'Print',
      'Paper mask',
      'Paper mask',
      'Paper mask',
      'Replay',
      'Replay',
      'Replay',
      'Rigid mask',
    ];
    want.forEach((c, i) => expect([i, cls('celeba-spoof', String(i))]).toEqual([i, c]));
  });

  test('OULU-NPU access types 1–5', () => {
    expect(['1', '2', '3', '4', '5'].map((c) => cls('oulu-npu', c))).toEqual([
      'Bonafide',
      'Print',
      'Print',
      'Replay',
      'Replay',
    ]);
  });

  test('SiW-Mv2 folder names', () => {
    const want: Record<string, string> = {
      Live: 'Bonafide',
      Makeup_Cosmetic: 'Makeup',
      Makeup_Impersonation: 'Makeup',
      Makeup_Obfuscation: 'Makeup',
      Mannequin: 'Fakehead',
      Silicone: 'Flexible mask',
      Print: 'Print',
      Replay: 'Replay',
      Partial_FunnyeyeGlasses: 'Glasses',
      Partial_PaperGlasses: 'Glasses',
      Partial_Eye: 'Partial Eye',
      Partial_Mouth: 'Partial Mouth',
      Mask_HalfMask: 'Rigid mask',
      Mask_PaperMask: 'Paper mask',
      Mask_TransparentMask: 'Rigid mask',
    };
    for (const [code, c] of Object.entries(want)) expect([code, cls('siw-mv2', code)]).toEqual([code, c]);
  });
});

test('WMCA: HDF5 frames of RGB and CDIT files, labels from the file name, wigs excluded', async () => {
  const rows = await catalog({ adapter: 'wmca', root: path.join(samples, 'wmca'), nearDuplicateDistance: -1 });
  expect(rows).toHaveLength(18);
  const byFile = (stem: string) => rows.filter((r) => r.relPath.includes(stem));
  expect(byFile('001_01_000_0_00').map((r) => [r.className, r.subject, r.width, r.height])).toEqual(
    Array(3).fill(['Bonafide', '001', 128, 128]),
  );
  expect(byFile('003_02_000_3_01')[0]).toMatchObject({ className: 'Print', nativeLabel: '3_01', subject: 'pai-003' });
  expect(byFile('004_02_000_4_01')[0]).toMatchObject({ className: 'Replay', nativeName: 'video replay' });
  const cdit = byFile('13.02.18/001_02_000_0_00')[0]!;
  expect(cdit).toMatchObject({
    status: 'ok',
    className: 'Bonafide',
    metadata: expect.objectContaining({ stream: 'CDIT' }),
  });
  expect(byFile('010_01_001_1_08').map((r) => [r.status, r.reason, r.subject])).toEqual(
    Array(3).fill(['excluded', 'native_label_without_class', '001']),
  );
});

test('WMCA: the grandtest protocol lists give the splits', async () => {
  const rows = await catalog({
    adapter: 'wmca',
    root: path.join(samples, 'wmca'),
    split: 'protocol',
    protocol: 'grandtest',
  });
  const split = (stem: string) => ok(rows).find((r) => r.relPath.includes(stem))?.split;
  expect([split('001_01_000_0_00'), split('002_01_000_0_01'), split('004_02_000_4_01')]).toEqual([
    'train',
    'val',
    'test',
  ]);
});

test('PADISI-Face: npz BGR floats become RGB images; descriptions and folds are kept', async () => {
  const rows = await catalog({
    adapter: 'padisi',
    root: path.join(samples, 'padisi'),
    split: 'protocol',
    protocol: 'part0',
  });
  expect(ok(rows).map((r) => [r.relPath, r.className, r.subject, r.split])).toEqual([
    ['samples/t0001.npz', 'Bonafide', 'p001', 'train'],
    ['samples/t0002.npz', 'Bonafide', 'p002', 'val'],
    ['samples/t0003.npz', 'Print', 'p001', 'train'],
    ['samples/t0004.npz', 'Print', 'p002', 'val'],
    ['samples/t0005.npz', 'Bonafide', 'p003', 'test'],
  ]);
  const first = rows[0]!;
  expect(first).toMatchObject({ width: 80, height: 96, nativeLabel: 'm00000' });
  expect(first.metadata).toMatchObject({
    part0: 'train',
    part1: 'test',
    descriptions: expect.arrayContaining([expect.stringContaining('bona fide')]),
  });
});

test('PADISI-Face: the colour channels are read as BGR', async () => {
  const sharp = (await import('sharp')).default;
  const fs = await import('node:fs');
  const os = await import('node:os');
  const { writeNpy, writeNpz } = await import('../../../activities/files/npz');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-padisi-'));
  const plane = 64 * 64;
  const data = new Float32Array(4 * plane);
  data.fill(1, 0, plane); // channel 0 is blue
  fs.writeFileSync(path.join(dir, 'x.npz'), writeNpz({ data: writeNpy(data, [4, 64, 64]) }));
  fs.writeFileSync(
    path.join(dir, 'padisi_USC_FACE_ground_truth.csv'),
    'transaction_id,ground_truth,participant_id\nx,m00000,p1\n',
  );
  const work = path.join(dir, 'work');
  const input = parseBuildInput({ sources: [{ name: 'p', adapter: 'padisi', root: dir }] });
  const [row] = await catalogSources(input.sources, taxonomy, { workDir: work });
  const { data: px } = await sharp(row!.absPath).raw().toBuffer({ resolveWithObject: true });
  expect([...px.subarray(0, 3)]).toEqual([0, 0, 255]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('CelebA-Spoof: spoof type from the label JSON, face boxes scaled from the 224 frame', async () => {
  const rows = await catalog({ adapter: 'celeba-spoof', root: path.join(samples, 'celeba-spoof'), split: 'protocol' });
  expect(rows.map((r) => [r.relPath.split('/').pop(), r.className, r.nativeName, r.subject, r.split])).toEqual([
    ['000004.jpg', 'Bonafide', 'live', '10002', 'test'],
    ['000005.jpg', 'Replay', 'PC screen', '10002', 'test'],
    ['000001.jpg', 'Bonafide', 'live', '10001', 'train'],
    ['000002.jpg', 'Print', 'photo', '10001', 'train'],
    ['000003.jpg', 'Replay', 'phone screen', '10001', 'train'],
  ]);
  // 56 56 112 112 in the 224 frame of a 256×256 image.
  expect(rows[0]!.faceBox).toEqual([64, 64, 192, 192]);
  expect(rows[0]!.metadata).toMatchObject({ illumination: 'live', environment: 'live' });
});

test('OULU-NPU: videos sampled to frames; access type and user from the name; Protocol_1 splits', async () => {
  const rows = await catalog({
    adapter: 'oulu-npu',
    root: path.join(samples, 'oulu-npu'),
    split: 'protocol',
    protocol: 'Protocol_1',
    frameBudget: 3,
  });
  expect(rows).toHaveLength(18);
  const kept = ok(rows);
  const video = (stem: string) => kept.filter((r) => r.videoId?.includes(stem));
  expect(video('1_1_01_1')[0]).toMatchObject({ className: 'Bonafide', subject: '01', split: 'train' });
  expect(video('1_1_01_2')[0]).toMatchObject({ className: 'Print', split: 'train' });
  expect(video('1_1_01_4')[0]).toMatchObject({ className: 'Replay' });
  expect(video('2_1_21_1')[0]).toMatchObject({ split: 'val' });
  expect(video('3_2_36_5')[0]).toMatchObject({ className: 'Replay', split: 'test', subject: '36' });
  expect(rows.filter((r) => r.videoId === 'Train_files/1_1_01_1.avi').map((r) => r.relPath)).toEqual([
    'Train_files/1_1_01_1.avi#frame=1',
    'Train_files/1_1_01_1.avi#frame=4',
    'Train_files/1_1_01_1.avi#frame=6',
  ]);
});

test('SiW-Mv2: videos and pre-extracted frame folders', async () => {
  const rows = await catalog({
    adapter: 'siw-mv2',
    root: path.join(samples, 'siw-mv2-video'),
    frameBudget: 4,
    nearDuplicateDistance: -1,
  });
  const live = rows.filter((r) => r.videoId === 'Live/astronaut-v01.mp4');
  expect(live.map((r) => [r.status, r.className, r.subject, r.width])).toEqual(
    Array(4).fill(['ok', 'Bonafide', 'astronaut', 96]),
  );
  const folder = rows.filter((r) => r.videoId === 'Spoof/Replay/camera-v01');
  // Four of six frames, evenly spaced: 0, 2, 3 and 5.
  expect(folder.map((r) => r.status)).toEqual(['ok', 'excluded', 'ok', 'ok', 'excluded', 'ok']);
  expect(folder[1]).toMatchObject({ reason: 'over_frame_budget', className: 'Replay', subject: 'camera' });
});

test('manifest: labels and attack types through the taxonomy synonyms, boxes kept', async () => {
  const rows = await catalog({ adapter: 'manifest', root: path.join(samples, 'manifest', 'manifest.csv') });
  expect(rows.map((r) => [r.relPath, r.className, r.subject])).toEqual([
    ['images/live-hopper.jpg', 'Bonafide', 'hopper'],
    ['images/print-camera.jpg', 'Print', 'camera'],
    ['images/eye-astronaut.jpg', 'Partial Eye', 'astronaut'],
    ['images/replay-hopper.jpg', 'Replay', 'hopper'],
  ]);
  expect(rows[2]!.spoofBox).toHaveLength(4);
  expect(rows[0]!.spoofBox).toBeNull();
});

test('a protocol name cannot reach outside the source root', async () => {
  await expect(
    catalog({ adapter: 'wmca', root: path.join(samples, 'wmca'), split: 'protocol', protocol: '../../..' }),
  ).rejects.toThrow('must name a folder inside');
});

// Regression: `split: "protocol"` on SiW-Mv2 (which has no protocol lists) dropped every image as not_in_protocol.
test('split "protocol" on SiW-Mv2 is refused, naming the adapters that have protocols', async () => {
  const err = await catalog({
    adapter: 'siw-mv2',
    root: path.join(samples, 'siw-mv2'),
    split: 'protocol',
    protocol: 'nonsense',
  }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(SourceLayoutError);
  expect(err!.message).toContain('siw-mv2 has no protocol lists');
  expect(err!.message).toContain('use "split": "subject"');
  for (const adapter of ['wmca', 'oulu-npu', 'padisi', 'celeba-spoof', 'manifest'])
    expect(err!.message).toContain(adapter);
});

// Regression: an unknown protocol folder was reported without saying which protocols exist.
test.each([
  ['wmca', 'wmca', 'grandtest'],
  ['oulu-npu', 'oulu-npu', 'users, Protocol_1'],
  ['padisi', 'padisi', 'part0'],
] as const)('an unknown %s protocol fails at once, listing the protocols present', async (adapter, folder, present) => {
  const err = await catalog({
    adapter,
    root: path.join(samples, folder),
    split: 'protocol',
    protocol: 'Protocol_9',
  }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(SourceLayoutError);
  expect(err!.message).toContain('"Protocol_9"');
  expect(err!.message).toContain(present);
});

// Regression: a protocol name on an adapter without named protocols was silently ignored.
test('a protocol name on CelebA-Spoof, which has no named protocols, is refused', async () => {
  await expect(
    catalog({ adapter: 'celeba-spoof', root: path.join(samples, 'celeba-spoof'), split: 'protocol', protocol: 'x' }),
  ).rejects.toThrow('celeba-spoof has no named protocols');
});

// Regression: a corrupt HDF5 file printed the library's error stack (84 lines) to stderr and was
// rejected as "error - name not defined!".
test('WMCA: a truncated HDF5 file is rejected with the cause, and the HDF5 library prints nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-wmca-'));
  try {
    const good = path.join(samples, 'wmca', '13.02.18', '001_02_000_0_00.hdf5');
    const bytes = fs.readFileSync(good);
    fs.copyFileSync(good, path.join(dir, '001_02_000_0_00.hdf5'));
    fs.writeFileSync(path.join(dir, '002_01_000_0_01.hdf5'), bytes.subarray(0, 300));
    fs.writeFileSync(path.join(dir, '003_01_000_0_01.hdf5'), 'not an HDF5 file at all');
    const script = [
      `const { catalogSources } = require(${JSON.stringify(path.resolve(__dirname, '../../../activities/files/catalog'))});`,
      `const { loadAssets } = require(${JSON.stringify(path.resolve(__dirname, '../../../config/assets'))});`,
      `const { parseBuildInput } = require(${JSON.stringify(path.resolve(__dirname, '../../../config/build-input'))});`,
      `const input = parseBuildInput({ sources: [{ name: 'w', adapter: 'wmca', root: ${JSON.stringify(dir)} }] });`,
      `catalogSources(input.sources, loadAssets().taxonomy).then((rows) => process.stdout.write(JSON.stringify(rows)));`,
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('HDF5-DIAG');
    expect(run.stderr).toBe('');
    const rows = JSON.parse(run.stdout) as CatalogRow[];
    const detail = (rel: string) => rows.find((r) => r.relPath === rel)?.detail;
    expect(rows.find((r) => r.relPath === '002_01_000_0_01.hdf5')).toMatchObject({ reason: 'corrupt_container' });
    expect(detail('002_01_000_0_01.hdf5')).toBe(
      `002_01_000_0_01.hdf5 is not a readable HDF5 file: truncated: 300 of the ${bytes.length} bytes its superblock records`,
    );
    expect(detail('003_01_000_0_01.hdf5')).toBe(
      '003_01_000_0_01.hdf5 is not a readable HDF5 file: no HDF5 signature (not an HDF5 file, or its header is corrupt)',
    );
    expect(ok(rows).length).toBeGreaterThan(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test('maxImages keeps exactly that many images; the rest are excluded undecoded with the reason', async () => {
  const input = parseBuildInput({
    sources: [{ name: 's', adapter: 'siw-mv2', root: path.join(samples, 'siw-mv2'), nearDuplicateDistance: -1 }],
    maxImages: 5,
  });
  const rows = await catalogSources(input.sources, taxonomy, { maxImages: input.maxImages });
  expect(ok(rows)).toHaveLength(5);
  expect(rows.filter((r) => r.reason === 'max_images_reached')).toHaveLength(rows.length - 5);
});
