/**
 * Renders the bundled sample set under samples/siw-mv2/ in SiW-Mv2's folder layout: bona fide
 * variants of three public-domain / CC0 photos plus Print, Replay, Partial_Eye and Partial_Mouth
 * attacks rendered from them. Every label comes from how the image was made, and every step is
 * recorded in samples/PROVENANCE.json; the partial attacks' patch boxes go to
 * samples/siw-mv2/spoof-regions.coco.json.
 *
 * Run: npx tsx scripts/make-samples.ts
 * Needs the Debian packages python3-skimage (astronaut.png, camera.png) and
 * python-matplotlib-data (grace_hopper.jpg); `--sources <dir>` reads the three files from a folder
 * instead. Output is deterministic: all randomness comes from a
 * seeded generator keyed by the output path, so a re-run rewrites identical files.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

// ---------------------------------------------------------------------------------------------
// Sources and hand-measured landmarks
// ---------------------------------------------------------------------------------------------

/** Absolute pixel corners [x1, y1, x2, y2], pixel-edge convention (0,0 is the top-left corner). */
type Box = [number, number, number, number];
type SubjectId = 'astronaut' | 'hopper' | 'camera';

interface Subject {
  id: SubjectId;
  /** File name of the source photo, as shipped by its Debian package. */
  source: string;
  defaultPath: string;
  licence: string;
  sha256: string;
  /** Tight box around both eyes (camera: the one visible eye), source pixels, measured by eye. */
  eyes: Box;
  /** Tight box around the lips, source pixels, measured by eye. */
  mouth: Box;
  /** Native-resolution face crop of Live-02. */
  liveCrop: Box;
  /** Face crop of Partial-02 and the scale it is resized by. */
  partialCrop: Box;
  partialScale: number;
  /** Portrait (9:16) crop shown full-screen on the phone of Replay-01. */
  phoneCrop: Box;
  /** Where the eyes and mouth printed on this subject's Partial-01 patch come from. */
  donorEyes: { from: SubjectId; centre: [number, number]; width: number; grey?: boolean };
  donorMouth: { from: SubjectId; centre: [number, number]; width: number; grey?: boolean };
}

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const MPL = '/usr/share/matplotlib/mpl-data/sample_data';

const SUBJECTS: Record<SubjectId, Subject> = {
  astronaut: {
    id: 'astronaut',
    source: 'astronaut.png',
    defaultPath: `${SKIMAGE}/astronaut.png`,
    licence: 'Public domain (NASA)',
    sha256: '88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5',
    eyes: [188, 92, 263, 112],
    mouth: [197, 134, 250, 157],
    liveCrop: [78, 0, 378, 300],
    partialCrop: [108, 10, 348, 250],
    partialScale: 1.6,
    phoneCrop: [103, 0, 353, 444],
    donorEyes: { from: 'hopper', centre: [265, 189], width: 150 },
    donorMouth: { from: 'hopper', centre: [268, 277], width: 98 },
  },
  hopper: {
    id: 'hopper',
    source: 'grace_hopper.jpg',
    defaultPath: `${MPL}/grace_hopper.jpg`,
    licence: 'Public domain (US Navy)',
    sha256: 'a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130',
    eyes: [195, 170, 335, 208],
    mouth: [222, 262, 314, 292],
    liveCrop: [102, 20, 422, 380],
    partialCrop: [130, 90, 394, 354],
    partialScale: 1.5,
    phoneCrop: [112, 0, 412, 533],
    donorEyes: { from: 'astronaut', centre: [225, 102], width: 84 },
    donorMouth: { from: 'astronaut', centre: [223, 145], width: 60 },
  },
  camera: {
    id: 'camera',
    source: 'camera.png',
    defaultPath: `${SKIMAGE}/camera.png`,
    licence: 'CC0 (scikit-image)',
    sha256: 'b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a',
    eyes: [225, 139, 250, 156],
    mouth: [223, 169, 246, 187],
    liveCrop: [96, 30, 352, 286],
    partialCrop: [150, 70, 310, 230],
    partialScale: 2.4,
    phoneCrop: [81, 0, 369, 512],
    donorEyes: { from: 'astronaut', centre: [248, 103], width: 28, grey: true },
    donorMouth: { from: 'astronaut', centre: [234, 146], width: 28, grey: true },
  },
};
const SUBJECT_ORDER: SubjectId[] = ['astronaut', 'hopper', 'camera'];

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples');
const SET = path.join(SAMPLES, 'siw-mv2');
const JPEG_QUALITY = 85;
const MAX_SIDE = 512;

// ---------------------------------------------------------------------------------------------
// Raster helpers: RGB float images (0..255) with optional alpha (0..1)
// ---------------------------------------------------------------------------------------------

class Img {
  readonly d: Float32Array;
  a?: Float32Array;
  constructor(
    readonly w: number,
    readonly h: number,
    fill: [number, number, number] = [0, 0, 0],
  ) {
    this.d = new Float32Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      this.d[i * 3] = fill[0];
      this.d[i * 3 + 1] = fill[1];
      this.d[i * 3 + 2] = fill[2];
    }
  }
  clone(): Img {
    const c = new Img(this.w, this.h);
    c.d.set(this.d);
    if (this.a) c.a = this.a.slice();
    return c;
  }
  /** Applies fn to every pixel; fn gets and returns [r, g, b]. */
  map(fn: (rgb: [number, number, number], x: number, y: number) => [number, number, number]): Img {
    const d = this.d;
    for (let y = 0; y < this.h; y++) {
      for (let x = 0; x < this.w; x++) {
        const i = (y * this.w + x) * 3;
        const o = fn([d[i]!, d[i + 1]!, d[i + 2]!], x, y);
        d[i] = o[0];
        d[i + 1] = o[1];
        d[i + 2] = o[2];
      }
    }
    return this;
  }
  /** Bilinear sample at continuous coordinates (pixel centres at +0.5), edge-clamped. */
  sample(x: number, y: number, out: number[]): void {
    const fx = Math.min(Math.max(x - 0.5, 0), this.w - 1);
    const fy = Math.min(Math.max(y - 0.5, 0), this.h - 1);
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const x1 = Math.min(x0 + 1, this.w - 1);
    const y1 = Math.min(y0 + 1, this.h - 1);
    const tx = fx - x0;
    const ty = fy - y0;
    const w00 = (1 - tx) * (1 - ty);
    const w10 = tx * (1 - ty);
    const w01 = (1 - tx) * ty;
    const w11 = tx * ty;
    const i00 = y0 * this.w + x0;
    const i10 = y0 * this.w + x1;
    const i01 = y1 * this.w + x0;
    const i11 = y1 * this.w + x1;
    for (let c = 0; c < 3; c++) {
      out[c] = this.d[i00 * 3 + c]! * w00 + this.d[i10 * 3 + c]! * w10 + this.d[i01 * 3 + c]! * w01 + this.d[i11 * 3 + c]! * w11;
    }
    const a = this.a;
    out[3] = a ? a[i00]! * w00 + a[i10]! * w10 + a[i01]! * w01 + a[i11]! * w11 : 1;
  }
}

/** `--sources <dir>`: a folder holding astronaut.png, grace_hopper.jpg and camera.png. */
function sourcesDir(): string | undefined {
  const i = process.argv.indexOf('--sources');
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function loadSource(s: Subject): Promise<Img> {
  const dir = sourcesDir();
  const file = dir ? path.join(dir, s.source) : s.defaultPath;
  const bytes = await fs.readFile(file).catch((err: Error) => {
    throw new Error(
      `cannot read ${file} (${err.message}); install python3-skimage and python-matplotlib-data, ` +
        'or pass --sources <dir> with a folder holding astronaut.png, grace_hopper.jpg and camera.png',
    );
  });
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (hash !== s.sha256) {
    console.warn(`warning: ${s.source} has sha256 ${hash}, not the expected ${s.sha256}; landmarks may be off`);
  }
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const img = new Img(info.width, info.height);
  for (let i = 0; i < info.width * info.height; i++) {
    for (let c = 0; c < 3; c++) img.d[i * 3 + c] = data[i * info.channels + (info.channels === 1 ? 0 : c)]!;
  }
  return img;
}

function toRaw(img: Img): Buffer {
  const buf = Buffer.alloc(img.w * img.h * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = Math.max(0, Math.min(255, Math.round(img.d[i]!)));
  return buf;
}

function fromRaw(data: Buffer, w: number, h: number, channels: number): Img {
  const img = new Img(w, h);
  if (channels === 4) img.a = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) img.d[i * 3 + c] = data[i * channels + c]!;
    if (img.a) img.a[i] = data[i * channels + 3]! / 255;
  }
  return img;
}

async function resize(img: Img, w: number, h: number): Promise<Img> {
  const { data, info } = await sharp(toRaw(img), { raw: { width: img.w, height: img.h, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return fromRaw(data, info.width, info.height, info.channels);
}

/** Gaussian blur through sharp (optics: defocus, print dot gain, camera softness). */
async function blur(img: Img, sigma: number): Promise<Img> {
  const { data, info } = await sharp(toRaw(img), { raw: { width: img.w, height: img.h, channels: 3 } })
    .blur(sigma)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = fromRaw(data, info.width, info.height, info.channels);
  if (img.a) out.a = img.a;
  return out;
}

function crop(img: Img, [x1, y1, x2, y2]: Box): Img {
  const out = new Img(x2 - x1, y2 - y1);
  for (let y = 0; y < out.h; y++) {
    const src = ((y + y1) * img.w + x1) * 3;
    out.d.set(img.d.subarray(src, src + out.w * 3), y * out.w * 3);
  }
  return out;
}

function mirror(img: Img): Img {
  const out = new Img(img.w, img.h);
  for (let y = 0; y < img.h; y++) {
    for (let x = 0; x < img.w; x++) {
      const s = (y * img.w + (img.w - 1 - x)) * 3;
      const t = (y * img.w + x) * 3;
      out.d[t] = img.d[s]!;
      out.d[t + 1] = img.d[s + 1]!;
      out.d[t + 2] = img.d[s + 2]!;
    }
  }
  return out;
}

/** Renders an SVG document to an RGBA image (sharp/librsvg). */
async function svg(doc: string): Promise<Img> {
  const { data, info } = await sharp(Buffer.from(doc)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return fromRaw(data, info.width, info.height, info.channels);
}

/** Alpha-composites src (with its alpha) onto dst at (ox, oy). */
function over(dst: Img, src: Img, ox = 0, oy = 0, opacity = 1): void {
  for (let y = 0; y < src.h; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= dst.h) continue;
    for (let x = 0; x < src.w; x++) {
      const tx = x + ox;
      if (tx < 0 || tx >= dst.w) continue;
      const a = (src.a ? src.a[y * src.w + x]! : 1) * opacity;
      if (a <= 0) continue;
      const s = (y * src.w + x) * 3;
      const t = (ty * dst.w + tx) * 3;
      for (let c = 0; c < 3; c++) dst.d[t + c] = dst.d[t + c]! * (1 - a) + src.d[s + c]! * a;
    }
  }
}

async function writeJpeg(img: Img, file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp(toRaw(img), { raw: { width: img.w, height: img.h, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:2:0' })
    .toFile(file);
}

// ---------------------------------------------------------------------------------------------
// Determinism: seeded generator and hash-based value noise
// ---------------------------------------------------------------------------------------------

function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** mulberry32: small, fast, good enough for jitter and sensor noise. */
class Rng {
  private s: number;
  constructor(seed: number | string) {
    this.s = typeof seed === 'string' ? seedOf(seed) : seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Approximately normal (sum of four uniforms), mean 0, sd 1. */
  gauss(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508;
  }
}

function lattice(ix: number, iy: number, seed: number): number {
  let h = (Math.imul(ix, 374761393) + Math.imul(iy, 668265263) + Math.imul(seed, 1442695041)) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1]. */
function vnoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const ux = fx * fx * (3 - 2 * fx);
  const uy = fy * fy * (3 - 2 * fy);
  const a = lattice(ix, iy, seed);
  const b = lattice(ix + 1, iy, seed);
  const c = lattice(ix, iy + 1, seed);
  const d = lattice(ix + 1, iy + 1, seed);
  return a + (b - a) * ux + (c - a) * uy + (a - b - c + d) * ux * uy;
}

/** Fractal value noise, roughly in [-1, 1]. */
function fbm(x: number, y: number, seed: number, octaves = 4): number {
  let sum = 0;
  let amp = 1;
  let norm = 0;
  for (let o = 0; o < octaves; o++) {
    sum += amp * (vnoise(x, y, seed + o * 101) * 2 - 1);
    norm += amp;
    amp *= 0.5;
    x *= 2.03;
    y *= 2.03;
  }
  return sum / norm;
}

const clamp = (v: number, lo = 0, hi = 255) => (v < lo ? lo : v > hi ? hi : v);
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
const round1 = (v: number) => Math.round(v * 10) / 10;
const deg = (d: number) => (d * Math.PI) / 180;

// ---------------------------------------------------------------------------------------------
// Surfaces: desk, wall, fabric, paper, out-of-focus room
// ---------------------------------------------------------------------------------------------

function woodDesk(w: number, h: number, seed: number): Img {
  const img = new Img(w, h);
  const dark: [number, number, number] = [96, 60, 36];
  const light: [number, number, number] = [164, 113, 70];
  return img.map((_, x, y) => {
    const warp = fbm(x * 0.004, y * 0.02, seed) * 6;
    const grain = 0.5 + 0.5 * Math.sin((y * 0.09 + warp) * Math.PI);
    const fibre = fbm(x * 0.02, y * 0.6, seed + 7, 3) * 0.5 + 0.5;
    const plank = Math.floor(y / 170);
    const t = clamp(0.55 * grain + 0.45 * fibre + (lattice(plank, 0, seed) - 0.5) * 0.3, 0, 1);
    const gap = Math.abs((y % 170) - 0) < 2 ? 0.55 : 1;
    return [lerp(dark[0], light[0], t) * gap, lerp(dark[1], light[1], t) * gap, lerp(dark[2], light[2], t) * gap];
  });
}

function plasterWall(w: number, h: number, seed: number, base: [number, number, number]): Img {
  return new Img(w, h).map((_, x, y) => {
    const low = fbm(x * 0.006, y * 0.006, seed, 3) * 7;
    const fine = fbm(x * 0.35, y * 0.35, seed + 3, 2) * 6;
    const v = low + fine;
    return [base[0] + v, base[1] + v, base[2] + v * 0.9];
  });
}

function fabric(w: number, h: number, seed: number): Img {
  return new Img(w, h).map((_, x, y) => {
    const weave = Math.sin(x * 1.9) * Math.sin(y * 1.9) * 7 + Math.sin((x + y) * 0.7) * 3;
    const fold = fbm(x * 0.008, y * 0.01, seed, 3) * 18;
    const v = 58 + weave + fold + fbm(x * 0.5, y * 0.5, seed + 9, 2) * 6;
    return [v * 0.8, v * 0.86, v * 1.05];
  });
}

/** Blank paper: off-white with fibre texture. */
function paper(w: number, h: number, seed: number, tint: [number, number, number] = [246, 244, 237]): Img {
  return new Img(w, h).map((_, x, y) => {
    const f = 1 + fbm(x * 0.25, y * 0.25, seed, 3) * 0.025 + fbm(x * 0.02, y * 0.9, seed + 5, 2) * 0.012;
    return [tint[0] * f, tint[1] * f, tint[2] * f];
  });
}

/** An out-of-focus room behind a handheld device: wall, window light, a shelf, a desk edge. */
async function room(w: number, h: number, seed: number): Promise<Img> {
  const rng = new Rng(seed);
  const wx = rng.range(0.55, 0.7) * w;
  const img = plasterWall(w, h, seed, [178, 170, 158]).map((rgb, x, y) => {
    const win = x > wx && x < wx + w * 0.3 && y > h * 0.08 && y < h * 0.55;
    const shelf = x < w * 0.35 && y > h * 0.3 && y < h * 0.36;
    const books = x < w * 0.3 && y > h * 0.18 && y < h * 0.3 && Math.floor(x / 14) % 3 !== 0;
    const desk = y > h * 0.78;
    if (win) return [236, 240, 246];
    if (shelf) return [92, 70, 52];
    if (books) {
      const k = lattice(Math.floor(x / 14), 1, seed);
      return [80 + 90 * k, 60 + 40 * (1 - k), 50 + 60 * k];
    }
    if (desk) return [120, 86, 58];
    const shade = 1 - 0.25 * (y / h);
    return [rgb[0] * shade, rgb[1] * shade, rgb[2] * shade];
  });
  return blur(img, 9);
}

// ---------------------------------------------------------------------------------------------
// Geometry: posed planar or bent sheets, mesh-warped with supersampling
// ---------------------------------------------------------------------------------------------

type Pt = [number, number];

interface Pose {
  /** Output position of the sheet's centre. */
  cx: number;
  cy: number;
  /** Output width of the sheet at its centre, before perspective. */
  width: number;
  yaw: number;
  pitch: number;
  roll: number;
  /** Camera distance in sheet widths; smaller means stronger perspective. */
  dist?: number;
  /** Cylindrical bend around the vertical axis, as depth at the edges in sheet widths. */
  bend?: number;
}

/** Maps sheet coordinates (u, v in 0..1) of a W x H flat image to output pixels under a pose. */
function poseMap(pose: Pose, W: number, H: number): (u: number, v: number) => Pt {
  const D = (pose.dist ?? 3) * W;
  const k = pose.width / W;
  const [cr, sr] = [Math.cos(deg(pose.roll)), Math.sin(deg(pose.roll))];
  const [cp, sp] = [Math.cos(deg(pose.pitch)), Math.sin(deg(pose.pitch))];
  const [cy, sy] = [Math.cos(deg(pose.yaw)), Math.sin(deg(pose.yaw))];
  const bend = pose.bend ?? 0;
  return (u, v) => {
    const X0 = (u - 0.5) * W;
    const Y0 = (v - 0.5) * H;
    const Z0 = bend * W * ((2 * u - 1) ** 2 - 0.33);
    // roll (z), then pitch (x), then yaw (y)
    const X1 = X0 * cr - Y0 * sr;
    const Y1 = X0 * sr + Y0 * cr;
    const Y2 = Y1 * cp - Z0 * sp;
    const Z2 = Y1 * sp + Z0 * cp;
    const X3 = X1 * cy + Z2 * sy;
    const Z3 = -X1 * sy + Z2 * cy;
    const f = D / (D + Z3);
    return [pose.cx + k * X3 * f, pose.cy + k * Y2 * f];
  };
}

/** Inverse of the homography taking the unit square's corners (0,0),(1,0),(1,1),(0,1) to q. */
function squareToQuadInverse(q: [Pt, Pt, Pt, Pt]): number[] {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
  const sx = x0 - x1 + x2 - x3;
  const sy = y0 - y1 + y2 - y3;
  let g = 0;
  let h = 0;
  if (Math.abs(sx) > 1e-9 || Math.abs(sy) > 1e-9) {
    const dx1 = x1 - x2;
    const dx2 = x3 - x2;
    const dy1 = y1 - y2;
    const dy2 = y3 - y2;
    const den = dx1 * dy2 - dx2 * dy1;
    g = (sx * dy2 - dx2 * sy) / den;
    h = (dx1 * sy - sx * dy1) / den;
  }
  const a = x1 - x0 + g * x1;
  const b = x3 - x0 + h * x3;
  const c = x0;
  const d = y1 - y0 + g * y1;
  const e = y3 - y0 + h * y3;
  const f = y0;
  // inverse of [[a b c] [d e f] [g h 1]]
  const A = e - f * h;
  const B = f * g - d;
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A / det,
    (c * h - b) / det,
    (b * f - c * e) / det,
    B / det,
    (a - c * g) / det,
    (c * d - a * f) / det,
    C / det,
    (b * g - a * h) / det,
    (a * e - b * d) / det,
  ];
}

interface Warped {
  /** Premultiplied colour, coverage, and the sheet's output bounding box. */
  rgb: Float32Array;
  cov: Float32Array;
  bbox: Box;
}

/** Warps a flat image (with optional alpha) into a w x h output through map, in an n x n mesh. */
function warp(src: Img, map: (u: number, v: number) => Pt, w: number, h: number, n = 12, ss = 3): Warped {
  const rgb = new Float32Array(w * h * 3);
  const cov = new Float32Array(w * h);
  const grid: Pt[][] = [];
  for (let j = 0; j <= n; j++) {
    const row: Pt[] = [];
    for (let i = 0; i <= n; i++) row.push(map(i / n, j / n));
    grid.push(row);
  }
  const bbox: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let j = 0; j <= n; j++) {
    for (let i = 0; i <= n; i++) {
      if (i !== 0 && i !== n && j !== 0 && j !== n) continue;
      const [x, y] = grid[j]![i]!;
      bbox[0] = Math.min(bbox[0], x);
      bbox[1] = Math.min(bbox[1], y);
      bbox[2] = Math.max(bbox[2], x);
      bbox[3] = Math.max(bbox[3], y);
    }
  }
  const px = [0, 0, 0, 0];
  const wsub = 1 / (ss * ss);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const q: [Pt, Pt, Pt, Pt] = [grid[j]![i]!, grid[j]![i + 1]!, grid[j + 1]![i + 1]!, grid[j + 1]![i]!];
      const m = squareToQuadInverse(q);
      const xs = q.map((p) => p[0]);
      const ys = q.map((p) => p[1]);
      const bx0 = Math.max(0, Math.floor(Math.min(...xs)));
      const bx1 = Math.min(w - 1, Math.ceil(Math.max(...xs)));
      const by0 = Math.max(0, Math.floor(Math.min(...ys)));
      const by1 = Math.min(h - 1, Math.ceil(Math.max(...ys)));
      for (let y = by0; y <= by1; y++) {
        for (let x = bx0; x <= bx1; x++) {
          let r = 0;
          let g = 0;
          let b = 0;
          let a = 0;
          for (let sj = 0; sj < ss; sj++) {
            for (let si = 0; si < ss; si++) {
              const X = x + (si + 0.5) / ss;
              const Y = y + (sj + 0.5) / ss;
              const z = m[6]! * X + m[7]! * Y + m[8]!;
              const s = (m[0]! * X + m[1]! * Y + m[2]!) / z;
              const t = (m[3]! * X + m[4]! * Y + m[5]!) / z;
              if (s < 0 || s >= 1 || t < 0 || t >= 1) continue;
              src.sample(((i + s) / n) * src.w, ((j + t) / n) * src.h, px);
              const pa = px[3]!;
              r += px[0]! * pa;
              g += px[1]! * pa;
              b += px[2]! * pa;
              a += pa;
            }
          }
          if (a === 0) continue;
          const o = y * w + x;
          rgb[o * 3] = rgb[o * 3]! + r * wsub;
          rgb[o * 3 + 1] = rgb[o * 3 + 1]! + g * wsub;
          rgb[o * 3 + 2] = rgb[o * 3 + 2]! + b * wsub;
          cov[o] = cov[o]! + a * wsub;
        }
      }
    }
  }
  return { rgb, cov, bbox };
}

function composite(dst: Img, layer: Warped): void {
  for (let i = 0; i < dst.w * dst.h; i++) {
    const a = Math.min(1, layer.cov[i]!);
    if (a === 0) continue;
    for (let c = 0; c < 3; c++) dst.d[i * 3 + c] = dst.d[i * 3 + c]! * (1 - a) + layer.rgb[i * 3 + c]!;
  }
}

/** Separable box blur, three passes (close to a Gaussian of sd ~ r). */
function blurMask(mask: Float32Array, w: number, h: number, r: number): Float32Array {
  const cur = mask.slice();
  const tmp = new Float32Array(w * h);
  const R = Math.max(1, Math.round(r));
  for (let pass = 0; pass < 3; pass++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let k = -R; k <= R; k++) s += cur[y * w + Math.min(w - 1, Math.max(0, x + k))]!;
        tmp[y * w + x] = s / (2 * R + 1);
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let k = -R; k <= R; k++) s += tmp[Math.min(h - 1, Math.max(0, y + k)) * w + x]!;
        cur[y * w + x] = s / (2 * R + 1);
      }
    }
  }
  return cur;
}

/** Darkens dst under a blurred, offset copy of a coverage mask: a soft cast shadow. */
function castShadow(dst: Img, cov: Float32Array, dx: number, dy: number, radius: number, strength: number): void {
  const soft = blurMask(cov, dst.w, dst.h, radius);
  for (let y = 0; y < dst.h; y++) {
    for (let x = 0; x < dst.w; x++) {
      const sx = Math.round(x - dx);
      const sy = Math.round(y - dy);
      if (sx < 0 || sy < 0 || sx >= dst.w || sy >= dst.h) continue;
      const k = 1 - strength * Math.min(1, soft[sy * dst.w + sx]!);
      const i = (y * dst.w + x) * 3;
      for (let c = 0; c < 3; c++) dst.d[i + c] = dst.d[i + c]! * k;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Media models: printer ink on paper, display panels, camera recapture
// ---------------------------------------------------------------------------------------------

interface PrintLook {
  saturation: number;
  black: number;
  white: number;
  gamma: number;
  warm: number;
}

/** Ink: desaturated, compressed tone range, slight warm cast, faint grain; multiplied onto paper. */
function inkOnPaper(photo: Img, sheet: Img, ox: number, oy: number, look: PrintLook, seed: number): void {
  const rng = new Rng(seed);
  for (let y = 0; y < photo.h; y++) {
    for (let x = 0; x < photo.w; x++) {
      const i = (y * photo.w + x) * 3;
      const r = photo.d[i]!;
      const g = photo.d[i + 1]!;
      const b = photo.d[i + 2]!;
      const Y = 0.299 * r + 0.587 * g + 0.114 * b;
      const grain = rng.gauss() * 2.2 + fbm(x * 0.7, y * 0.7, seed, 2) * 3;
      const ink = [r, g, b].map((v, c) => {
        const s = Y + look.saturation * (v - Y);
        const tone = look.black + (look.white - look.black) * Math.pow(clamp(s) / 255, look.gamma);
        const cast = c === 0 ? 1 + look.warm : c === 2 ? 1 - look.warm : 1;
        return clamp(tone * cast + grain) / 255;
      });
      const t = ((y + oy) * sheet.w + (x + ox)) * 3;
      for (let c = 0; c < 3; c++) sheet.d[t + c] = sheet.d[t + c]! * ink[c]!;
    }
  }
}

interface PanelLook {
  black: number;
  gamma: number;
  tint: [number, number, number];
  saturation: number;
}

function panel(img: Img, look: PanelLook): Img {
  return img.clone().map(([r, g, b]) => {
    const Y = 0.299 * r + 0.587 * g + 0.114 * b;
    return [r, g, b].map((v, c) => {
      const s = clamp(Y + look.saturation * (v - Y));
      return clamp((look.black + (255 - look.black) * Math.pow(s / 255, look.gamma)) * look.tint[c]!);
    }) as [number, number, number];
  });
}

interface MoireLook {
  /** Band period in output pixels (converted to screen pixels), angle (deg), strength 0..1, curvature. */
  period: number;
  angle: number;
  strength: number;
  curve: number;
  /** Period of the faint pixel-grid lattice in flat pixels. */
  grid: number;
}

/** Recapture moiré: two beating families of curved, colour-fringed bands plus a faint pixel lattice. */
function moire(img: Img, look: MoireLook, seed: number): void {
  const a1 = deg(look.angle);
  const a2 = deg(look.angle + 63);
  const off = [0, 2.1, 4.2];
  img.map(([r, g, b], x, y) => {
    const bend = fbm(x / 160, y / 160, seed, 2) * look.curve;
    const p1 = ((x * Math.cos(a1) + y * Math.sin(a1)) / look.period + bend) * 2 * Math.PI;
    const p2 = ((x * Math.cos(a2) + y * Math.sin(a2)) / (look.period * 1.37) - bend * 0.7) * 2 * Math.PI;
    const lattice = 0.5 + 0.25 * (Math.cos((2 * Math.PI * x) / look.grid) + Math.cos((2 * Math.PI * y) / look.grid));
    return [r, g, b].map((v, c) => {
      const band = 0.5 + 0.3 * Math.cos(p1 + off[c]!) + 0.2 * Math.cos(p2 + off[c]! * 0.6);
      return v * (1 - look.strength * band) * (1 - 0.06 * lattice) + 3;
    }) as [number, number, number];
  });
}

interface Streak {
  pos: number;
  angle: number;
  width: number;
  gain: number;
}
interface Spot {
  x: number;
  y: number;
  r: number;
  gain: number;
}

/** Specular glare on glass: a soft diagonal streak plus a broad hot spot, screen-blended. */
function glare(img: Img, streak: Streak, spot: Spot): void {
  const ca = Math.cos(deg(streak.angle));
  const sa = Math.sin(deg(streak.angle));
  img.map(([r, g, b], x, y) => {
    const d = (x / img.w - 0.5) * ca + (y / img.h - 0.5) * sa - streak.pos;
    const s = streak.gain * Math.exp(-((d / streak.width) ** 2));
    const dd = ((x - spot.x * img.w) ** 2 + (y - spot.y * img.h) ** 2) / (spot.r * img.w) ** 2;
    const k = clamp(s + spot.gain * Math.exp(-dd), 0, 0.95);
    return [r + (255 - r) * k, g + (255 - g) * k, b + (250 - b) * k];
  });
}

/** Light falling across a scene: a directional gradient and a vignette. */
function lighting(img: Img, from: Pt, falloff: number, vignette: number, tint: [number, number, number] = [1, 1, 1]): void {
  const diag = Math.hypot(img.w, img.h);
  img.map(([r, g, b], x, y) => {
    const d = Math.hypot(x - from[0] * img.w, y - from[1] * img.h) / diag;
    const v = Math.hypot(x / img.w - 0.5, y / img.h - 0.5) / 0.7071;
    const k = (1 - falloff * d) * (1 - vignette * v * v);
    return [r * k * tint[0], g * k * tint[1], b * k * tint[2]];
  });
}

/** Camera recapture: lens softness, then sensor noise (luma plus a little chroma). */
async function recapture(img: Img, rng: Rng, sigma: number, softness: number): Promise<Img> {
  const soft = await blur(img, softness);
  return soft.map(([r, g, b]) => {
    const n = rng.gauss() * sigma;
    return [clamp(r + n + rng.gauss() * sigma * 0.35), clamp(g + n), clamp(b + n + rng.gauss() * sigma * 0.35)];
  });
}

// ---------------------------------------------------------------------------------------------
// Frames: how an output relates to its source photo (for moving boxes)
// ---------------------------------------------------------------------------------------------

interface Frame {
  img: Img;
  /** out = (src - o) * s */
  ox: number;
  oy: number;
  sx: number;
  sy: number;
  steps: string[];
}

async function fitFrame(photo: Img): Promise<Frame> {
  const k = Math.min(1, MAX_SIDE / Math.max(photo.w, photo.h));
  if (k === 1)
    return { img: photo.clone(), ox: 0, oy: 0, sx: 1, sy: 1, steps: [`source ${photo.w}x${photo.h}, used at native size`] };
  const w = Math.round(photo.w * k);
  const h = Math.round(photo.h * k);
  return {
    img: await resize(photo, w, h),
    ox: 0,
    oy: 0,
    sx: w / photo.w,
    sy: h / photo.h,
    steps: [`resize ${photo.w}x${photo.h} -> ${w}x${h} (lanczos3) to fit ${MAX_SIDE} px`],
  };
}

async function cropFrame(photo: Img, box: Box, scale: number): Promise<Frame> {
  const c = crop(photo, box);
  const w = Math.round(c.w * scale);
  const h = Math.round(c.h * scale);
  return {
    img: scale === 1 ? c : await resize(c, w, h),
    ox: box[0],
    oy: box[1],
    sx: w / c.w,
    sy: h / c.h,
    steps: [
      `crop [${box.join(', ')}] of the ${photo.w}x${photo.h} source`,
      ...(scale === 1 ? [] : [`resize ${c.w}x${c.h} -> ${w}x${h} (lanczos3)`]),
    ],
  };
}

const toFrame = (f: Frame, [x1, y1, x2, y2]: Box): Box => [
  (x1 - f.ox) * f.sx,
  (y1 - f.oy) * f.sy,
  (x2 - f.ox) * f.sx,
  (y2 - f.oy) * f.sy,
];

// ---------------------------------------------------------------------------------------------
// Renderers
// ---------------------------------------------------------------------------------------------

interface Rendered {
  img: Img;
  steps: string[];
  box?: Box;
}

type Photos = Record<SubjectId, Img>;

async function live(s: Subject, photos: Photos, n: number): Promise<Rendered> {
  const photo = photos[s.id];
  const grey = s.id === 'camera' ? ['greyscale source expanded to 3-channel RGB'] : [];
  if (n === 1) {
    const f = await fitFrame(photo);
    return { img: f.img, steps: [...grey, ...f.steps, 'no other change'] };
  }
  if (n === 2) {
    const f = await cropFrame(photo, s.liveCrop, 1);
    return { img: f.img, steps: [...grey, ...f.steps, 'face crop at native resolution, no resampling'] };
  }
  if (n === 3) {
    const f = await fitFrame(photo);
    return { img: mirror(f.img), steps: [...grey, ...f.steps, 'horizontal mirror'] };
  }
  const f = await fitFrame(photo);
  const wb: Record<SubjectId, { gain: [number, number, number]; gamma: number; label: string }> = {
    astronaut: {
      gain: [1.1, 1.04, 0.9],
      gamma: 0.9,
      label: 'warmer white balance (R x1.10, G x1.04, B x0.90), brighter (gamma 0.90)',
    },
    hopper: {
      gain: [0.92, 0.98, 1.1],
      gamma: 1.15,
      label: 'cooler white balance (R x0.92, G x0.98, B x1.10), darker (gamma 1.15)',
    },
    camera: {
      gain: [1.06, 1.0, 0.88],
      gamma: 0.85,
      label: 'warm white balance (R x1.06, B x0.88) on the grey image, brighter (gamma 0.85)',
    },
  };
  const c = wb[s.id];
  const img = f.img.map(
    (rgb) => rgb.map((v, i) => clamp(255 * Math.pow(clamp(v * c.gain[i]!) / 255, c.gamma))) as [number, number, number],
  );
  return { img, steps: [...grey, ...f.steps, c.label] };
}

/** A photo print: the whole photo on paper with a white border (and for A4, a wide margin). */
function printedSheet(photo: Img, seed: number, layout: 'border' | 'a4', look: PrintLook): { sheet: Img; note: string } {
  if (layout === 'border') {
    const m = Math.round(photo.w * 0.055);
    const sheet = paper(photo.w + 2 * m, photo.h + 2 * m, seed);
    inkOnPaper(photo, sheet, m, m, look, seed + 1);
    return { sheet, note: `photo printed with a ${m} px white border` };
  }
  const w = Math.round(photo.w * 1.24);
  const h = Math.round(w * 1.414);
  const sheet = paper(w, h, seed);
  const m = Math.round((w - photo.w) / 2);
  inkOnPaper(photo, sheet, m, m, look, seed + 1);
  return { sheet, note: 'photo printed in the top part of an A4 sheet (wide white margins)' };
}

/** Pre-bakes diffuse shading of a (possibly bent) sheet and an optional fold crease. */
function shadeSheet(sheet: Img, bend: number, light: number, crease?: { at: number; angle: number }): void {
  const ca = crease ? Math.cos(deg(crease.angle)) : 0;
  const sa = crease ? Math.sin(deg(crease.angle)) : 0;
  sheet.map(([r, g, b], x, y) => {
    const u = (x / sheet.w) * 2 - 1;
    const slope = 4 * bend * u; // d(depth)/d(x) of the cylinder, in sheet widths
    let k = 0.92 + light * (-slope * 0.9) - 0.04 * u * u;
    if (crease) {
      const d = (x / sheet.w - 0.5) * ca + (y / sheet.h - 0.5) * sa - crease.at;
      k *= 1 + (d > 0 ? -0.06 : 0.03) * Math.exp(-Math.abs(d) * 8) - 0.12 * Math.exp(-((d / 0.004) ** 2));
    }
    return [r * k, g * k, b * k];
  });
}

async function print(s: Subject, photos: Photos, n: number): Promise<Rendered> {
  const key = `Print/${s.id}-${n}`;
  const rng = new Rng(key);
  const seed = seedOf(key);
  const photo = photos[s.id];
  const W = 512;
  const H = 512;
  const steps: string[] = [
    s.id === 'camera' ? 'greyscale source expanded to 3-channel RGB' : `full ${photo.w}x${photo.h} source photo`,
  ];
  const look: PrintLook = { saturation: 0.72, black: 26, white: 246, gamma: 0.92, warm: 0.02 };
  let scene: Img;
  let pose: Pose;
  let sheetInfo: { sheet: Img; note: string };
  let shadow: [number, number, number, number];
  if (n === 1) {
    scene = woodDesk(W, H, seed);
    sheetInfo = printedSheet(photo, seed, 'border', look);
    const aspect = sheetInfo.sheet.h / sheetInfo.sheet.w;
    pose = {
      cx: 256 + rng.range(-6, 6),
      cy: 258,
      width: 400 / Math.max(1, aspect),
      yaw: rng.range(4, 8),
      pitch: 30,
      roll: rng.range(-9, -6),
      dist: 2.6,
      bend: 0.015,
    };
    shadeSheet(sheetInfo.sheet, pose.bend!, 0.6);
    shadow = [7, 9, 7, 0.5];
    steps.push(
      sheetInfo.note,
      'ink model: saturation x0.72, tone range 26..246, slight warm cast, ink grain on paper-fibre texture',
    );
    steps.push('paper lying on a wooden desk (procedural texture), viewed from above at ~30 deg');
  } else if (n === 2) {
    scene = plasterWall(W, H, seed, [196, 192, 182]);
    sheetInfo = printedSheet(photo, seed, 'a4', { ...look, saturation: 0.62, black: 34 });
    const aspect = sheetInfo.sheet.h / sheetInfo.sheet.w;
    pose = {
      cx: 262,
      cy: 300,
      width: 470 / aspect,
      yaw: rng.range(-22, -17),
      pitch: 6,
      roll: rng.range(2, 4),
      dist: 2.2,
      bend: 0.05,
    };
    shadeSheet(sheetInfo.sheet, pose.bend!, 0.5);
    shadow = [12, 7, 10, 0.32];
    steps.push(
      sheetInfo.note,
      'office-printer ink model: saturation x0.62, tone range 34..246, ink grain on paper-fibre texture',
    );
    steps.push('sheet held in front of a plaster wall (procedural texture), turned ~20 deg, slightly bowed');
  } else {
    scene = fabric(W, H, seed);
    sheetInfo = printedSheet(photo, seed, 'border', { ...look, saturation: 0.8, black: 20, warm: 0.035 });
    const aspect = sheetInfo.sheet.h / sheetInfo.sheet.w;
    pose = {
      cx: 250,
      cy: 252,
      width: 380 / Math.max(1, aspect),
      yaw: rng.range(12, 16),
      pitch: -14,
      roll: rng.range(9, 12),
      dist: 2.4,
      bend: 0.07,
    };
    shadeSheet(sheetInfo.sheet, pose.bend!, 0.7, { at: rng.range(0.12, 0.2), angle: 20 });
    shadow = [6, 10, 9, 0.55];
    steps.push(sheetInfo.note, 'photo-paper ink model: saturation x0.80, tone range 20..246, warm cast, ink grain');
    steps.push('print with a fold crease, curled and tilted over dark fabric (procedural texture)');
  }
  const layer = warp(sheetInfo.sheet, poseMap(pose, sheetInfo.sheet.w, sheetInfo.sheet.h), W, H);
  castShadow(scene, layer.cov, shadow[0], shadow[1], shadow[2], shadow[3]);
  composite(scene, layer);
  steps.push(
    `perspective warp: yaw ${pose.yaw.toFixed(1)}, pitch ${pose.pitch.toFixed(1)}, roll ${pose.roll.toFixed(1)} deg, bend ${pose.bend}`,
    'soft cast shadow under the paper',
  );
  if (n === 1) lighting(scene, [0.15, 0.05], 0.35, 0.25, [1.03, 1, 0.94]);
  else if (n === 2) lighting(scene, [0.8, 0.1], 0.3, 0.3);
  else {
    lighting(scene, [0.3, 0.0], 0.3, 0.3);
  }
  steps.push('scene lighting gradient and vignette');
  const img = await recapture(scene, rng, 2.6, 0.6);
  steps.push('recapture: lens blur sigma 0.6, sensor noise sd 2.6', `output ${W}x${H}`);
  return { img, steps };
}

interface Device {
  kind: 'phone' | 'monitor' | 'tablet';
  w: number;
  h: number;
  bezel: number;
  radius: number;
  /** Screen rectangle inside the device image. */
  sx: number;
  sy: number;
  sw: number;
  sh: number;
}

function deviceSpec(kind: Device['kind']): Device {
  if (kind === 'phone') {
    const w = 320;
    const h = 660;
    const bezel = 12;
    return { kind, w, h, bezel, radius: 44, sx: bezel, sy: bezel, sw: w - 2 * bezel, sh: h - 2 * bezel };
  }
  if (kind === 'tablet') {
    const w = 600;
    const h = 800;
    const bezel = 30;
    return { kind, w, h, bezel, radius: 40, sx: bezel, sy: bezel, sw: w - 2 * bezel, sh: h - 2 * bezel };
  }
  const w = 1000;
  const h = 640;
  return { kind, w, h, bezel: 22, radius: 8, sx: 22, sy: 22, sw: w - 44, sh: h - 70 };
}

/** Device body with the (already display-modelled) screen content set into its screen. */
async function deviceImage(dev: Device, screen: Img): Promise<Img> {
  const body = await svg(`<svg xmlns="http://www.w3.org/2000/svg" width="${dev.w}" height="${dev.h}">
    <defs>
      <linearGradient id="b" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#2b2c30"/><stop offset="0.5" stop-color="#121215"/><stop offset="1" stop-color="#050506"/>
      </linearGradient>
    </defs>
    <rect x="0.5" y="0.5" width="${dev.w - 1}" height="${dev.h - 1}" rx="${dev.radius}" fill="url(#b)" stroke="#8a8c92" stroke-opacity="0.55" stroke-width="2"/>
    <rect x="${dev.sx}" y="${dev.sy}" width="${dev.sw}" height="${dev.sh}" rx="${dev.kind === 'monitor' ? 0 : dev.radius - dev.bezel}" fill="#000"/>
    ${dev.kind === 'monitor' ? `<rect x="${dev.w / 2 - 30}" y="${dev.h - 34}" width="60" height="10" rx="4" fill="#3a3b40"/>` : ''}
  </svg>`);
  const mask = await svg(`<svg xmlns="http://www.w3.org/2000/svg" width="${dev.w}" height="${dev.h}">
    <rect x="${dev.sx}" y="${dev.sy}" width="${dev.sw}" height="${dev.sh}" rx="${dev.kind === 'monitor' ? 0 : dev.radius - dev.bezel}" fill="#fff"/></svg>`);
  const content = screen.clone();
  content.a = new Float32Array(content.w * content.h);
  for (let y = 0; y < content.h; y++) {
    for (let x = 0; x < content.w; x++) content.a[y * content.w + x] = mask.a![(y + dev.sy) * dev.w + x + dev.sx]!;
  }
  over(body, content, dev.sx, dev.sy);
  if (dev.kind === 'phone') {
    const cam = await svg(`<svg xmlns="http://www.w3.org/2000/svg" width="${dev.w}" height="${dev.h}">
      <circle cx="${dev.w / 2}" cy="${dev.sy + 22}" r="9" fill="#050506"/><circle cx="${dev.w / 2 - 2}" cy="${dev.sy + 20}" r="2.5" fill="#3d4a66"/></svg>`);
    over(body, cam);
  }
  return body;
}

/** Fits the photo into a w x h box on a solid background (letterboxed, as an image viewer does). */
async function letterbox(photo: Img, w: number, h: number, bg: [number, number, number], topBar = 0): Promise<Img> {
  const out = new Img(w, h, bg);
  const k = Math.min(w / photo.w, (h - topBar) / photo.h);
  const pw = Math.round(photo.w * k);
  const ph = Math.round(photo.h * k);
  over(out, await resize(photo, pw, ph), Math.round((w - pw) / 2), topBar + Math.round((h - topBar - ph) / 2));
  if (topBar > 0) {
    over(out, new Img(w, topBar, [46, 47, 52]));
    for (let i = 0; i < 3; i++) over(out, new Img(topBar - 10, topBar - 10, [120, 122, 128]), w - (i + 1) * topBar, 5);
  }
  return out;
}

async function replay(s: Subject, photos: Photos, n: number): Promise<Rendered> {
  const key = `Replay/${s.id}-${n}`;
  const rng = new Rng(key);
  const seed = seedOf(key);
  const photo = photos[s.id];
  const steps: string[] = [
    s.id === 'camera' ? 'greyscale source expanded to 3-channel RGB' : `${photo.w}x${photo.h} source photo`,
  ];
  let W: number;
  let H: number;
  let scene: Img;
  let dev: Device;
  let screen: Img;
  let pose: Pose;
  let moireLook: MoireLook;
  let glareLook: [Streak, Spot];
  let shadow: [number, number, number, number] | undefined;
  if (n === 1) {
    W = 400;
    H = 512;
    dev = deviceSpec('phone');
    const c = crop(photo, s.phoneCrop);
    screen = await resize(c, dev.sw, dev.sh);
    steps.push(`crop [${s.phoneCrop.join(', ')}] shown full-screen on a phone (${dev.sw}x${dev.sh} screen)`);
    screen = panel(screen, { black: 14, gamma: 0.95, tint: [0.93, 0.99, 1.08], saturation: 1.12 });
    steps.push('display model: cool tint (R x0.93, B x1.08), black level 14, saturation x1.12');
    moireLook = { period: 12, angle: 28, strength: 0.26, curve: 1.2, grid: 3 };
    glareLook = [
      { pos: -0.18, angle: 35, width: 0.12, gain: 0.28 },
      { x: 0.75, y: 0.2, r: 0.35, gain: 0.18 },
    ];
    scene = await room(W, H, seed);
    pose = {
      cx: 200 + rng.range(-5, 5),
      cy: 258,
      width: 206,
      yaw: rng.range(14, 18),
      pitch: rng.range(-8, -5),
      roll: rng.range(-5, -3),
      dist: 2.5,
    };
    steps.push('phone held up in front of an out-of-focus room (procedural)');
  } else if (n === 2) {
    W = 512;
    H = 384;
    dev = deviceSpec('monitor');
    screen = await letterbox(photo, dev.sw, dev.sh, [30, 30, 33], 26);
    steps.push(`photo shown in an image viewer on a monitor (${dev.sw}x${dev.sh} screen, dark surround, title bar)`);
    screen = panel(screen, { black: 20, gamma: 0.9, tint: [0.95, 1.0, 1.1], saturation: 0.95 });
    steps.push('display model: blue-white tint (R x0.95, B x1.10), black level 20, gamma 0.90');
    moireLook = { period: 20, angle: -12, strength: 0.3, curve: 1.6, grid: 3 };
    glareLook = [
      { pos: 0.25, angle: -60, width: 0.16, gain: 0.16 },
      { x: 0.2, y: 0.15, r: 0.3, gain: 0.22 },
    ];
    scene = plasterWall(W, H, seed, [170, 168, 162]);
    pose = {
      cx: 268 + rng.range(-6, 6),
      cy: 190,
      width: 560,
      yaw: rng.range(-13, -9),
      pitch: rng.range(3, 6),
      roll: rng.range(-2, -1),
      dist: 2.2,
    };
    steps.push('camera close to the monitor: screen fills most of the frame, bezel and wall at the edges');
  } else {
    W = 512;
    H = 512;
    dev = deviceSpec('tablet');
    screen = await letterbox(photo, dev.sw, dev.sh, [0, 0, 0]);
    steps.push(`photo shown full-width on a tablet (${dev.sw}x${dev.sh} screen, black bars)`);
    screen = panel(screen, { black: 10, gamma: 1.0, tint: [1.02, 1.03, 0.94], saturation: 1.05 });
    steps.push('display model: warm-green tint (R x1.02, G x1.03, B x0.94), black level 10');
    moireLook = { period: 15, angle: 50, strength: 0.26, curve: 1.4, grid: 3 };
    glareLook = [
      { pos: 0.05, angle: 20, width: 0.07, gain: 0.2 },
      { x: 0.65, y: 0.7, r: 0.5, gain: 0.3 },
    ];
    scene = woodDesk(W, H, seed);
    pose = {
      cx: 256 + rng.range(-5, 5),
      cy: 262,
      width: 330,
      yaw: rng.range(-6, -3),
      pitch: rng.range(30, 34),
      roll: rng.range(7, 10),
      dist: 2.6,
    };
    shadow = [8, 10, 8, 0.5];
    steps.push('tablet lying on a wooden desk (procedural texture), viewed at ~32 deg');
  }
  const flatPerOut = dev.w / pose.width;
  moire(screen, { ...moireLook, period: moireLook.period * flatPerOut }, seed);
  steps.push(
    `moire: curved colour-fringed beat bands (period ~${moireLook.period} output px, strength ${moireLook.strength}) and pixel lattice`,
  );
  glare(screen, glareLook[0], glareLook[1]);
  steps.push('screen glare on top: specular streak and hot spot');
  const device = await deviceImage(dev, screen);
  steps.push(`${dev.kind} body with dark bezel (${dev.bezel} px)`);
  const layer = warp(device, poseMap(pose, device.w, device.h), W, H);
  if (shadow) castShadow(scene, layer.cov, shadow[0], shadow[1], shadow[2], shadow[3]);
  composite(scene, layer);
  steps.push(`perspective warp: yaw ${pose.yaw.toFixed(1)}, pitch ${pose.pitch.toFixed(1)}, roll ${pose.roll.toFixed(1)} deg`);
  lighting(scene, [0.5, 0.0], 0.15, 0.3);
  const img = await recapture(scene, rng, 2.4, 0.55);
  steps.push('recapture: vignette, lens blur sigma 0.55, sensor noise sd 2.4', `output ${W}x${H}`);
  return { img, steps };
}

/**
 * A partial attack: a printed paper patch held over the eyes or mouth of the bona fide photo.
 * Patch 01 carries another subject's eyes/mouth; patch 02 a degraded print of the subject's own.
 */
async function partial(s: Subject, photos: Photos, region: 'eyes' | 'mouth', n: number): Promise<Rendered> {
  const cls = region === 'eyes' ? 'Partial_Eye' : 'Partial_Mouth';
  const key = `${cls}/${s.id}-${n}`;
  const rng = new Rng(key);
  const seed = seedOf(key);
  const photo = photos[s.id];
  const frame = n === 1 ? await fitFrame(photo) : await cropFrame(photo, s.partialCrop, s.partialScale);
  const steps = [...(s.id === 'camera' ? ['greyscale source expanded to 3-channel RGB'] : []), ...frame.steps];
  const feature = toFrame(frame, region === 'eyes' ? s.eyes : s.mouth);
  const fw = feature[2] - feature[0];
  const fh = feature[3] - feature[1];
  const [gw, gh] = region === 'eyes' ? [1.16, 1.6] : [1.22, 1.5];
  const pw = fw * gw;
  const ph = fh * gh;
  const cx = (feature[0] + feature[2]) / 2;
  const cy = (feature[1] + feature[3]) / 2 + (region === 'eyes' ? -fh * 0.05 : 0);

  // The flat patch, at 3x its output size: paper with a narrow border around the printed region.
  const F = 3;
  const PW = Math.round(pw * F);
  const PH = Math.round(ph * F);
  const border = Math.max(3, Math.round(Math.min(PW, PH) * 0.06));
  const sheet = paper(PW, PH, seed);
  const inner: [number, number] = [PW - 2 * border, PH - 2 * border];
  let printed: Img;
  let look: PrintLook;
  if (n === 1) {
    const donor = region === 'eyes' ? s.donorEyes : s.donorMouth;
    const dw = donor.width;
    const dh = (dw * inner[1]) / inner[0];
    const dbox: Box = [
      Math.round(donor.centre[0] - dw / 2),
      Math.round(donor.centre[1] - dh / 2),
      Math.round(donor.centre[0] + dw / 2),
      Math.round(donor.centre[1] + dh / 2),
    ];
    printed = await resize(crop(photos[donor.from], dbox), inner[0], inner[1]);
    if (donor.grey)
      printed.map(([r, g, b]) => {
        const Y = 0.299 * r + 0.587 * g + 0.114 * b;
        return [Y, Y, Y];
      });
    look = { saturation: 0.9, black: 14, white: 248, gamma: 1.0, warm: 0.02 };
    steps.push(
      `printed patch: ${region} of subject ${donor.from} (${SUBJECTS[donor.from].source} crop [${dbox.join(', ')}]${donor.grey ? ', greyscale' : ''}) with a white paper border`,
    );
  } else {
    // The subject's own region, printed at 106% so it does not line up exactly.
    const sw = (pw - (2 * border) / F) / frame.sx / 1.06;
    const sh = (ph - (2 * border) / F) / frame.sy / 1.06;
    const scx = cx / frame.sx + frame.ox;
    const scy = cy / frame.sy + frame.oy;
    const sbox: Box = [Math.round(scx - sw / 2), Math.round(scy - sh / 2), Math.round(scx + sw / 2), Math.round(scy + sh / 2)];
    printed = await blur(await resize(crop(photo, sbox), inner[0], inner[1]), 0.9);
    look = { saturation: 0.72, black: 24, white: 244, gamma: 0.95, warm: 0.04 };
    steps.push(
      `printed patch: the subject's own ${region} (source crop [${sbox.join(', ')}], enlarged 6%), soft office-printer print, white paper border`,
    );
  }
  inkOnPaper(printed, sheet, border, border, look, seed + 2);
  steps.push(
    `ink model: saturation x${look.saturation}, tone range ${look.black}..${look.white}, ink grain on paper-fibre texture`,
  );
  shadeSheet(sheet, 0.03, 0.3);
  const roll = (n === 1 ? 1 : -1) * rng.range(3, 6);
  const pose: Pose = { cx, cy, width: pw, yaw: rng.range(-4, 4), pitch: 0, roll, dist: 40, bend: 0.03 };
  const layer = warp(sheet, poseMap(pose, PW, PH), frame.img.w, frame.img.h, 8, 3);
  const img = frame.img.clone();
  castShadow(img, layer.cov, 1.5 * frame.sx, 2.5 * frame.sy, Math.max(1, 1.5 * frame.sx), 0.4);
  composite(img, layer);
  if (s.id === 'camera') {
    // The source is a monochrome capture, so the patch is recorded in grey too.
    img.map(([r, g, b]) => {
      const Y = 0.299 * r + 0.587 * g + 0.114 * b;
      return [Y, Y, Y];
    });
  }
  steps.push(
    `patch ${pw.toFixed(1)}x${ph.toFixed(1)} px centred on the ${region}, rotated ${roll.toFixed(1)} deg, turned ${pose.yaw.toFixed(1)} deg, slightly bowed, soft shadow`,
  );
  const box: Box = [
    round1(Math.max(0, layer.bbox[0])),
    round1(Math.max(0, layer.bbox[1])),
    round1(Math.min(img.w, layer.bbox[2])),
    round1(Math.min(img.h, layer.bbox[3])),
  ];
  if (s.id === 'camera') steps.push('whole frame converted to grey, like the monochrome source');
  steps.push(
    `spoof-region box = the patch's bounding box in output pixels [${box.map((v) => v.toFixed(1)).join(', ')}]`,
    `output ${img.w}x${img.h}`,
  );
  return { img, steps, box };
}

// ---------------------------------------------------------------------------------------------
// Plan, output, annotations
// ---------------------------------------------------------------------------------------------

type Cls = 'Live' | 'Print' | 'Replay' | 'Partial_Eye' | 'Partial_Mouth';
const PLAN: { cls: Cls; count: number; render: (s: Subject, p: Photos, n: number) => Promise<Rendered> }[] = [
  { cls: 'Live', count: 4, render: live },
  { cls: 'Print', count: 3, render: print },
  { cls: 'Replay', count: 3, render: replay },
  { cls: 'Partial_Eye', count: 2, render: (s, p, n) => partial(s, p, 'eyes', n) },
  { cls: 'Partial_Mouth', count: 2, render: (s, p, n) => partial(s, p, 'mouth', n) },
];

interface ProvenanceEntry {
  path: string;
  subject: SubjectId;
  class: Cls;
  source: string;
  sourceSha256: string;
  licence: string;
  width: number;
  height: number;
  steps: string[];
  box?: Box;
}

/** JSON with boxes written as floats with one decimal (92.0, not 92). */
function jsonWithBoxes(value: unknown): string {
  const text = JSON.stringify(
    value,
    (k, v: unknown) => (k === 'box' || k === 'bbox' ? (v as number[]).map((n) => `@@${n.toFixed(1)}@@`) : v),
    2,
  );
  return `${text.replace(/"@@(-?\d+\.\d)@@"/g, '$1').replace(/\[\s+(-?\d+\.\d),\s+(-?\d+\.\d),\s+(-?\d+\.\d),\s+(-?\d+\.\d)\s+\]/g, '[$1, $2, $3, $4]')}\n`;
}

async function main(): Promise<void> {
  const photos = {} as Photos;
  for (const id of SUBJECT_ORDER) photos[id] = await loadSource(SUBJECTS[id]);
  await fs.rm(SET, { recursive: true, force: true });

  const provenance: ProvenanceEntry[] = [];
  for (const { cls, count, render } of PLAN) {
    for (const id of SUBJECT_ORDER) {
      const s = SUBJECTS[id];
      for (let n = 1; n <= count; n++) {
        const r = await render(s, photos, n);
        if (Math.max(r.img.w, r.img.h) > MAX_SIDE) throw new Error(`${cls}/${id}-${n} is larger than ${MAX_SIDE} px`);
        const rel = `${cls === 'Live' ? 'Live' : `Spoof/${cls}`}/${id}-${String(n).padStart(2, '0')}.jpg`;
        await writeJpeg(r.img, path.join(SET, rel));
        provenance.push({
          path: `siw-mv2/${rel}`,
          subject: id,
          class: cls,
          source: s.source,
          sourceSha256: s.sha256,
          licence: s.licence,
          width: r.img.w,
          height: r.img.h,
          steps: [...r.steps, `JPEG quality ${JPEG_QUALITY}`],
          ...(r.box ? { box: r.box } : {}),
        });
        console.log(`${rel}  ${r.img.w}x${r.img.h}${r.box ? `  box [${r.box.map((v) => v.toFixed(1)).join(', ')}]` : ''}`);
      }
    }
  }
  provenance.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const boxed = provenance.filter((p) => p.box);
  const coco = {
    info: { description: 'fasforge bundled samples: spoof-region boxes of the rendered partial attacks', version: '1' },
    images: boxed.map((p, i) => ({ id: i + 1, file_name: p.path.replace(/^siw-mv2\//, ''), width: p.width, height: p.height })),
    annotations: boxed.map((p, i) => {
      const [x1, y1, x2, y2] = p.box!;
      const w = round1(x2 - x1);
      const h = round1(y2 - y1);
      return { id: i + 1, image_id: i + 1, category_id: 1, bbox: [x1, y1, w, h], area: round1(w * h), iscrowd: 0 };
    }),
    categories: [{ id: 1, name: 'spoof_region' }],
  };
  await fs.writeFile(path.join(SET, 'spoof-regions.coco.json'), jsonWithBoxes(coco));
  await fs.writeFile(path.join(SAMPLES, 'PROVENANCE.json'), jsonWithBoxes(provenance));
  console.log(`${provenance.length} images, ${boxed.length} spoof-region boxes`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
