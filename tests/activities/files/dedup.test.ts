/**
 * The perceptual-hash index finds exactly what comparing against every kept hash finds.
 */
import { PhashIndex } from '../../../activities/files/catalog';
import { phashDistance } from '../../../activities/images/inspect';

function hashes(n: number, seed: number): string[] {
  let s = seed;
  const bit = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % 2 === 0 ? '0' : '1';
  };
  const base = Array.from({ length: n }, () => Array.from({ length: 64 }, bit).join(''));
  // Every third hash is a copy of an earlier one with a few bits flipped.
  return base.map((h, i) => {
    if (i % 3 !== 2) return h;
    const chars = base[i - 1]!.split('');
    for (let k = 0; k < i % 7; k += 1) chars[(k * 13 + i) % 64] = chars[(k * 13 + i) % 64] === '0' ? '1' : '0';
    return chars.join('');
  });
}

test.each([0, 4, 8])('finds the nearest kept hash within %i bits, as a full scan does', (maxDistance) => {
  const index = new PhashIndex(maxDistance);
  const kept: { key: string; phash: string }[] = [];
  let matches = 0;
  for (const [i, h] of hashes(600, 7 + maxDistance).entries()) {
    const scan = kept
      .map((k) => ({ key: k.key, distance: phashDistance(k.phash, h) }))
      .filter((k) => k.distance <= maxDistance)
      .sort((a, b) => a.distance - b.distance)[0];
    const found = index.find(h, maxDistance);
    expect(found?.distance).toBe(scan?.distance);
    if (scan) matches += 1;
    else {
      index.add(`k${i}`, h);
      kept.push({ key: `k${i}`, phash: h });
    }
  }
  if (maxDistance > 0) expect(matches).toBeGreaterThan(100);
});
