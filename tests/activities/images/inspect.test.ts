/**
 * Image hygiene: what is refused before decoding, and what is converted for the models.
 */
import sharp from 'sharp';
import { inspectImageBytes } from '../../../activities/images/inspect';

const opts = { maxPixels: 1_000_000, minSide: 32 };
const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#c08040' } });

test('applies EXIF orientation: a 80×60 JPEG tagged orientation 6 becomes 60×80 upright', async () => {
  const bytes = await solid(80, 60).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const seen = await inspectImageBytes(bytes, opts);
  expect(seen).toMatchObject({ ok: true, width: 60, height: 80 });
  if (!seen.ok) return;
  expect(seen.changes).toEqual(['EXIF orientation 6 applied']);
  const out = await sharp(seen.normalized!).metadata();
  expect([out.width, out.height, out.orientation ?? 1]).toEqual([60, 80, 1]);
});

test('converts CMYK, 16-bit greyscale and greyscale JPEG to 8-bit sRGB', async () => {
  const inputs = {
    cmyk: await solid(64, 64).toColourspace('cmyk').jpeg().toBuffer(),
    grey16: await solid(64, 64).greyscale().toColourspace('grey16').png().toBuffer(),
    grey: await solid(64, 64).greyscale().toColourspace('b-w').jpeg().toBuffer(),
  };
  for (const [name, bytes] of Object.entries(inputs)) {
    const seen = await inspectImageBytes(bytes, opts);
    expect([name, seen.ok]).toEqual([name, true]);
    if (!seen.ok) continue;
    expect(seen.normalized).toBeDefined();
    const m = await sharp(seen.normalized!).metadata();
    expect([name, m.space, m.depth, m.channels]).toEqual([name, 'srgb', 'uchar', 3]);
  }
});

test('leaves an upright 8-bit sRGB JPEG as it is', async () => {
  const seen = await inspectImageBytes(await solid(64, 64).jpeg().toBuffer(), opts);
  expect(seen).toMatchObject({ ok: true, changes: [], normalized: undefined });
});

test('refuses images under the minimum side and over the pixel limit, before decoding', async () => {
  expect(await inspectImageBytes(await solid(200, 20).png().toBuffer(), opts)).toMatchObject({
    ok: false,
    reason: 'too_small',
  });
  expect(await inspectImageBytes(await solid(2000, 1000).png().toBuffer(), opts)).toMatchObject({
    ok: false,
    reason: 'too_many_pixels',
  });
});
