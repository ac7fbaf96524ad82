/**
 * Writes one small fixture per source adapter in that dataset's published layout, rendered from
 * the bundled samples in samples/siw-mv2/ (themselves rendered from public-domain and CC0 photos;
 * see samples/PROVENANCE.json): WMCA HDF5 (with h5wasm), PADISI-Face npz and CSVs, CelebA-Spoof
 * images with label JSON and face boxes, OULU-NPU videos with protocol lists, SiW-Mv2 videos and
 * frame folders, and a manifest. Videos are encoded by ffmpeg. Each fixture carries only content
 * whose label is true by construction (bona fide photos, their print and replay renderings); the
 * one WMCA wig file repeats a bona fide image to test that wigs are excluded, and is never accepted.
 *
 * Run: npx tsx scripts/make-source-fixtures.ts   (needs ffmpeg on PATH)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { buildHdf5File } from '../activities/files/hdf5';
import { writeNpy, writeNpz } from '../activities/files/npz';

const samples = path.resolve(__dirname, '..', 'samples');
const siw = path.join(samples, 'siw-mv2');
const photo = (rel: string) => path.join(siw, rel);

/** One entry per fixture file: which bundled sample it was made from and how (samples/FIXTURES.json). */
const provenance: { path: string; from: string; label: string; steps: string }[] = [];
const record = (dir: string, rel: string, from: string, label: string, steps: string) =>
  provenance.push({ path: `${dir}/${rel}`, from: `siw-mv2/${from}`, label, steps });

function fresh(dir: string): string {
  const abs = path.join(samples, dir);
  fs.rmSync(abs, { recursive: true, force: true });
  fs.mkdirSync(abs, { recursive: true });
  return abs;
}

function write(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** `n` frames of a slow pan across the photo's centre, each `size`×`size` RGB (raw, row-major). */
async function panFrames(rel: string, size: number, n: number): Promise<Buffer[]> {
  const img = sharp(photo(rel));
  const { width = 0, height = 0 } = await img.metadata();
  const side = Math.floor(Math.min(width, height) * 0.8);
  const frames: Buffer[] = [];
  for (let k = 0; k < n; k += 1) {
    const left = Math.floor((width - side) / 2) + k * 2;
    const top = Math.floor((height - side) / 2);
    frames.push(
      await sharp(photo(rel))
        .extract({ left, top, width: side, height: side })
        .resize(size, size)
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer(),
    );
  }
  return frames;
}

function encodeVideo(out: string, frames: Buffer[], size: number): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${size}x${size}`,
      '-r',
      '8',
      '-i',
      '-',
      '-c:v',
      'mpeg4',
      '-q:v',
      '8',
      '-pix_fmt',
      'yuv420p',
      '-bitexact',
      out,
    ],
    { input: Buffer.concat(frames) },
  );
}

async function wmca(): Promise<void> {
  const root = fresh('wmca');
  const files: [string, string, 'RGB' | 'CDIT'][] = [
    ['12.02.18/001_01_000_0_00.hdf5', 'Live/astronaut-01.jpg', 'RGB'],
    ['12.02.18/002_01_000_0_01.hdf5', 'Live/hopper-01.jpg', 'RGB'],
    ['12.02.18/003_02_000_3_01.hdf5', 'Spoof/Print/camera-01.jpg', 'RGB'],
    ['12.02.18/004_02_000_4_01.hdf5', 'Spoof/Replay/astronaut-02.jpg', 'RGB'],
    ['13.02.18/001_02_000_0_00.hdf5', 'Live/astronaut-02.jpg', 'CDIT'],
    ['13.02.18/010_01_001_1_08.hdf5', 'Live/astronaut-03.jpg', 'RGB'],
  ];
  for (const [rel, src, stream] of files) {
    const frames = await panFrames(src, 128, 3);
    const bytes = await buildHdf5File((f) => {
      frames.forEach((rgb, i) => {
        const c = stream === 'RGB' ? 3 : 4;
        const chw = new Uint8Array(c * 128 * 128);
        for (let p = 0; p < 128 * 128; p += 1) {
          if (stream === 'RGB') for (let ch = 0; ch < 3; ch += 1) chw[ch * 128 * 128 + p] = rgb[p * 3 + ch]!;
          else {
            const grey = Math.round(0.299 * rgb[p * 3]! + 0.587 * rgb[p * 3 + 1]! + 0.114 * rgb[p * 3 + 2]!);
            chw[p] = grey; // colour (grey) channel; depth, infrared and thermal stay zero
          }
        }
        const g = f.create_group(`Frame_${i}`);
        g.create_dataset({
          name: 'array',
          data: chw,
          shape: [c, 128, 128],
          dtype: '<B',
          chunks: [c, 128, 128],
          compression: 9,
        });
      });
    });
    write(path.join(root, rel), bytes);
    const code = path.basename(rel, '.hdf5').split('_').slice(3).join('_');
    const label = code === '1_08' ? 'wig code over a bona fide image (tests exclusion)' : `WMCA ${code}`;
    record(
      'wmca',
      rel,
      src,
      label,
      `3 frames, 128×128 crops panned 2 px a frame, ${stream}${stream === 'CDIT' ? ' (grey in the colour channel)' : ''}`,
    );
  }
  const stems = files.map(([rel]) => path.basename(rel, '.hdf5'));
  write(path.join(root, 'protocols/grandtest/train.txt'), `${stems[0]}\n${stems[2]}\n${stems[4]}\n${stems[5]}\n`);
  write(path.join(root, 'protocols/grandtest/dev.txt'), `${stems[1]}\n`);
  write(path.join(root, 'protocols/grandtest/eval.txt'), `${stems[3]}\n`);
}

async function padisi(): Promise<void> {
  const root = fresh('padisi');
  const rows: [string, string, string, string, string][] = [
    ['t0001', 'Live/astronaut-01.jpg', 'm00000', 'p001', 'a bona fide face photographed in front of the camera'],
    ['t0002', 'Live/hopper-01.jpg', 'm00000', 'p002', 'a bona fide face with a light background'],
    [
      't0003',
      'Spoof/Print/astronaut-01.jpg',
      'm50201',
      'p001',
      'a printed photo of a face held in front of the camera',
    ],
    ['t0004', 'Spoof/Print/hopper-02.jpg', 'm50201', 'p002', 'a printed face photo on paper, slightly bent'],
    ['t0005', 'Live/camera-01.jpg', 'm00000', 'p003', 'a bona fide face seen in profile'],
  ];
  const truth = ['transaction_id,trial_id,trial_name,modality,ground_truth,participant_id,gender,ethnicity,race,age'];
  const desc = ['transaction_id,des0,des1'];
  for (const [id, src, gt, participant, text] of rows) {
    const { data, info } = await sharp(photo(src))
      .resize(80, 96, { fit: 'cover' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const c = 4;
    const arr = new Float32Array(c * info.width * info.height);
    const plane = info.width * info.height;
    for (let p = 0; p < plane; p += 1) {
      for (let k = 0; k < 3; k += 1) arr[(2 - k) * plane + p] = data[p * 3 + k]! / 255; // RGB → BGR planes
    }
    write(path.join(root, 'samples', `${id}.npz`), writeNpz({ data: writeNpy(arr, [c, info.height, info.width]) }));
    truth.push(
      `${id},${id.replace('t', 'trial')},face_trial,COLOR,${gt},${participant},unknown,unknown,unknown,unknown`,
    );
    desc.push(`${id},"${text}","rendered from a bundled sample photograph"`);
  }
  write(path.join(root, 'padisi_USC_FACE_ground_truth.csv'), `${truth.join('\n')}\n`);
  write(path.join(root, 'padisi_USC_FACE_descriptions.csv'), `${desc.join('\n')}\n`);
  const part = (assign: Record<string, string>) =>
    `transaction_id,partition_name\n${Object.entries(assign)
      .map(([k, v]) => `${k},${v}`)
      .join('\n')}\n`;
  write(
    path.join(root, 'padisi_USC_FACE_3folds_part0.csv'),
    part({ t0001: 'train', t0003: 'train', t0002: 'valid', t0004: 'valid', t0005: 'test' }),
  );
  write(
    path.join(root, 'padisi_USC_FACE_3folds_part1.csv'),
    part({ t0001: 'test', t0003: 'test', t0002: 'train', t0004: 'train', t0005: 'valid' }),
  );
}

async function celebaSpoof(): Promise<void> {
  const root = fresh('celeba-spoof');
  const items: [string, string, number][] = [
    ['Data/train/10001/live/000001.jpg', 'Live/astronaut-02.jpg', 0],
    ['Data/train/10001/spoof/000002.jpg', 'Spoof/Print/astronaut-01.jpg', 1],
    ['Data/train/10001/spoof/000003.jpg', 'Spoof/Replay/astronaut-01.jpg', 9],
    ['Data/test/10002/live/000004.jpg', 'Live/hopper-02.jpg', 0],
    ['Data/test/10002/spoof/000005.jpg', 'Spoof/Replay/hopper-02.jpg', 7],
  ];
  const labels: Record<string, Record<string, number[]>> = { train: {}, test: {} };
  for (const [rel, src, spoofType] of items) {
    await sharp(photo(src))
      .resize(256, 256, { fit: 'cover' })
      .jpeg({ quality: 80 })
      .toFile(ensure(path.join(root, rel)));
    // Face box of the centre half of the image, in the 224 reference frame.
    write(path.join(root, rel.replace(/\.jpg$/, '_BB.txt')), '56 56 112 112 0.99\n');
    record('celeba-spoof', rel, src, `CelebA-Spoof spoof type ${spoofType}`, '256×256 cover resize, JPEG quality 80');
    const live = spoofType === 0;
    labels[rel.split('/')[1]!]![rel] = [...Array(40).fill(0), spoofType, live ? 0 : 1, live ? 0 : 1, live ? 0 : 1];
  }
  write(path.join(root, 'metas/intra_test/train_label.json'), `${JSON.stringify(labels.train, null, 1)}\n`);
  write(path.join(root, 'metas/intra_test/test_label.json'), `${JSON.stringify(labels.test, null, 1)}\n`);
}

const ensure = (file: string) => (fs.mkdirSync(path.dirname(file), { recursive: true }), file);

async function ouluNpu(): Promise<void> {
  const root = fresh('oulu-npu');
  const videos: [string, string][] = [
    ['Train_files/1_1_01_1.avi', 'Live/astronaut-01.jpg'],
    ['Train_files/1_1_01_2.avi', 'Spoof/Print/astronaut-02.jpg'],
    ['Train_files/1_1_01_4.avi', 'Spoof/Replay/astronaut-03.jpg'],
    ['Dev_files/2_1_21_1.avi', 'Live/hopper-01.jpg'],
    ['Test_files/3_2_36_1.avi', 'Live/camera-01.jpg'],
    ['Test_files/3_2_36_5.avi', 'Spoof/Replay/camera-02.jpg'],
  ];
  for (const [rel, src] of videos) {
    encodeVideo(path.join(root, rel), await panFrames(src, 96, 8), 96);
    record(
      'oulu-npu',
      rel,
      src,
      `OULU-NPU access ${path.basename(rel, '.avi').split('_')[3]}`,
      '8 frames at 8 fps, 96×96 crops panned 2 px a frame, MPEG-4',
    );
  }
  const line = (rel: string) => {
    const stem = path.basename(rel, '.avi');
    return `${stem.endsWith('_1') ? '+1' : '-1'},${stem}`;
  };
  const by = (dir: string) =>
    videos
      .filter(([r]) => r.startsWith(dir))
      .map(([r]) => line(r))
      .join('\n');
  write(path.join(root, 'Protocols/Protocol_1/Train.txt'), `${by('Train')}\n`);
  write(path.join(root, 'Protocols/Protocol_1/Dev.txt'), `${by('Dev')}\n`);
  write(path.join(root, 'Protocols/Protocol_1/Test.txt'), `${by('Test')}\n`);
}

async function siwVideo(): Promise<void> {
  const root = fresh('siw-mv2-video');
  for (const [rel, src] of [
    ['Live/astronaut-v01.mp4', 'Live/astronaut-01.jpg'],
    ['Spoof/Print/hopper-v01.mp4', 'Spoof/Print/hopper-01.jpg'],
  ] as const) {
    encodeVideo(path.join(root, rel), await panFrames(src, 96, 8), 96);
    record(
      'siw-mv2-video',
      rel,
      src,
      rel.split('/').slice(-2, -1)[0]!,
      '8 frames at 8 fps, 96×96 crops panned 2 px a frame, MPEG-4',
    );
  }
  // A pre-extracted frame folder: the replay of one subject and the bona fide photo of another alternate.
  const replay = await panFrames('Spoof/Replay/camera-01.jpg', 96, 6);
  for (const [i, raw] of replay.entries()) {
    const out = ensure(path.join(root, 'Spoof/Replay/camera-v01', `frame-${String(i + 1).padStart(4, '0')}.jpg`));
    await sharp(raw, { raw: { width: 96, height: 96, channels: 3 } })
      .jpeg({ quality: 80 })
      .toFile(out);
  }
}

async function manifest(): Promise<void> {
  const root = fresh('manifest');
  const rows: [string, string, string, string, string, string][] = [
    ['images/live-hopper.jpg', 'Live/hopper-03.jpg', 'bona fide', '', 'hopper', ''],
    ['images/print-camera.jpg', 'Spoof/Print/camera-02.jpg', 'spoof', 'print', 'camera', ''],
    ['images/eye-astronaut.jpg', 'Spoof/Partial_Eye/astronaut-02.jpg', 'attack', 'partial eye attack', 'astronaut', ''],
    ['images/replay-hopper.jpg', 'Spoof/Replay/hopper-03.jpg', 'spoof', 'replay', 'hopper', ''],
  ];
  const coco = JSON.parse(fs.readFileSync(path.join(siw, 'spoof-regions.coco.json'), 'utf8')) as {
    images: { id: number; file_name: string }[];
    annotations: { image_id: number; bbox: [number, number, number, number] }[];
  };
  const lines = ['path,label,attack_type,subject,box'];
  for (const [rel, src, label, attack, subject] of rows) {
    const out = ensure(path.join(root, rel));
    fs.copyFileSync(photo(src), out);
    record('manifest', rel, src, attack || label, 'byte copy');
    const img = coco.images.find((i) => i.file_name === src);
    const a = img && coco.annotations.find((x) => x.image_id === img.id);
    const box = a ? `${a.bbox[0]} ${a.bbox[1]} ${a.bbox[0] + a.bbox[2]} ${a.bbox[1] + a.bbox[3]}` : '';
    lines.push([rel, label, attack, subject, box].join(','));
  }
  write(path.join(root, 'manifest.csv'), `${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  await wmca();
  await padisi();
  await celebaSpoof();
  await ouluNpu();
  await siwVideo();
  await manifest();
  write(path.join(samples, 'FIXTURES.json'), `${JSON.stringify(provenance, null, 2)}\n`);
  for (const dir of ['wmca', 'padisi', 'celeba-spoof', 'oulu-npu', 'siw-mv2-video', 'manifest']) {
    console.log(
      `samples/${dir}: ${execFileSync('du', ['-sh', path.join(samples, dir)], { encoding: 'utf8' }).split('\t')[0]}`,
    );
  }
}

void main();
