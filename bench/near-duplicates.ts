/**
 * Near-duplicate search: the indexed search (exact pass + q-gram prefix filter) against comparing
 * every pair, side by side on the same synthetic bucket, and the indexed search alone at 50K.
 * A bucket is one class × task with `scope: "class-task"`, the worst case: every pair in it is
 * compared with every kept one. A third of the pairs are originals written from a vocabulary, the
 * rest paraphrases of them with a few words swapped, as augmentation makes.
 *
 *   node --import tsx bench/near-duplicates.ts [--sizes 1000,4000] [--large 50000] [--buckets 48] [--vocab 2000]
 */
import { parseArgs } from 'node:util';
import { findNearDuplicates, normalizeText, similarity, type DedupeItem } from '../activities/database/near-duplicates';
import { Prng } from '../simulator/prng';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000' },
    large: { type: 'string', default: '50000' },
    vocab: { type: 'string', default: '2000' },
    buckets: { type: 'string', default: '48' },
  },
});
const options = { threshold: 0.9, compare: 'answer' as const };

const BASE_WORDS = (
  'face spoof real mask print paper replay screen edge light skin texture depth shade glare eye mouth nose ' +
  'cheek forehead contour reflection moire pattern border frame glossy matte flat rigid silicone wrinkle pore ' +
  'lighting natural artificial uneven shadow highlight blur sharp colour tone noise pixel grid bezel hand'
).split(' ');
// `--vocab N` words: the 50 domain words plus made-up ones, drawn with a Zipf-like skew, so the
// text looks like a model's answers (a few words everywhere, most words rare). `--vocab 50` is
// the adversarial case where every answer is made of the same few words.
const vocab = Number(values.vocab);
const letters = new Prng('vocabulary', 'letters');
const WORDS = [...BASE_WORDS.slice(0, vocab)];
while (WORDS.length < vocab) {
  WORDS.push(Array.from({ length: 3 + letters.int(7) }, () => String.fromCharCode(97 + letters.int(26))).join(''));
}
const zipf = (prng: Prng) => WORDS[Math.min(WORDS.length - 1, Math.floor(WORDS.length ** prng.next()) - 1)]!;

function bucket(n: number, seed: string): DedupeItem[] {
  const prng = new Prng(seed, 'bench');
  const originals: string[] = [];
  const items: DedupeItem[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0 || originals.length === 0) {
      const text = Array.from({ length: 25 + prng.int(30) }, () => zipf(prng)).join(' ');
      originals.push(text);
      items.push({ id: `g${i}`, question: 'Is the face real or fake?', answer: text });
    } else {
      const words = prng.pick(originals).split(' ');
      for (let k = 0, swaps = 1 + prng.int(6); k < swaps; k++) words[prng.int(words.length)] = zipf(prng);
      items.push({ id: `a${i}`, question: 'Is this face genuine?', answer: `In short, ${words.join(' ')}` });
    }
  }
  return items;
}

function bruteForce(items: DedupeItem[]): (string | null)[] {
  const kept: { id: string; text: string }[] = [];
  return items.map((it) => {
    const text = normalizeText(it.answer);
    let best: { id: string; s: number } | undefined;
    for (const k of kept) {
      const s = similarity(text, k.text);
      if (s + 1e-9 >= options.threshold && (!best || s > best.s)) best = { id: k.id, s };
    }
    if (best) return best.id;
    kept.push({ id: it.id, text });
    return null;
  });
}

const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const out = f();
  return [out, performance.now() - t];
};

const results: Record<string, unknown>[] = [];
for (const n of values.sizes.split(',').map(Number)) {
  const items = bucket(n, `side-by-side-${n}`);
  const [fast, fastMs] = time(() => findNearDuplicates(items, options));
  const [slow, slowMs] = time(() => bruteForce(items));
  const same = fast.every((d, i) => (d.duplicateOf ?? null) === slow[i]);
  const dropped = fast.filter((d) => d.duplicateOf).length;
  console.log(
    `${n} pairs in one bucket: indexed ${fastMs.toFixed(0)} ms, every pair ${slowMs.toFixed(0)} ms, ` +
      `ratio ${(slowMs / fastMs).toFixed(1)}×, ${dropped} dropped, same decisions: ${same}`,
  );
  results.push({
    n,
    indexedMs: Math.round(fastMs),
    bruteForceMs: Math.round(slowMs),
    ratio: slowMs / fastMs,
    same,
    dropped,
  });
}
// The large run spreads its pairs over class × task buckets, as a build does (12 classes × 4 tasks).
const large = Number(values.large);
const buckets = Number(values.buckets);
if (large > 0) {
  let ms = 0;
  let dropped = 0;
  for (let b = 0; b < buckets; b++) {
    const items = bucket(Math.round(large / buckets), `large-${large}-${b}`);
    const [out, t] = time(() => findNearDuplicates(items, options));
    ms += t;
    dropped += out.filter((d) => d.duplicateOf).length;
  }
  console.log(`${large} pairs in ${buckets} buckets: indexed ${(ms / 1000).toFixed(1)} s, ${dropped} dropped`);
  results.push({ n: large, buckets, indexedMs: Math.round(ms), dropped });
}
console.log(JSON.stringify({ bench: 'near-duplicates', threshold: options.threshold, vocab, results }));
