/**
 * Near-duplicate SFT pairs. Within one class × task bucket (and, for localization, one box; with
 * `scope: "image"`, one image: a pair and its paraphrases) pairs are visited in a fixed order,
 * generated before augmented, then by seq, and each is compared
 * with the pairs kept before it; one whose normalised text is at least `threshold` similar to a
 * kept pair is dropped with `near_duplicate`, naming the kept pair. The decisions depend only on
 * the bucket's contents, so a retried activity makes the same ones and writes nothing twice.
 *
 * Similarity is 1 − Levenshtein(a, b) / max(|a|, |b|) on normalised text. Comparing every pair
 * costs O(n²) Levenshtein calls per bucket; instead three necessary conditions prune first, so the
 * decisions stay exactly those of comparing every pair (a test checks this against brute force):
 * - an exact pass (a map from normalised text) settles copies in O(1);
 * - prefix filter: lev(a, b) ≤ d implies a and b share at least max(|a|, |b|) − q + 1 − q·d
 *   q-grams, so with grams ordered rarest first, two texts that reach the threshold share one of
 *   the first ≈ q·(1 − threshold)·|a| + 1 grams of each; only kept texts are indexed, by those;
 * - per candidate, a length filter and the q-gram count filter (a merge of sorted gram ids) run
 *   before the one Levenshtein call.
 * Cost per bucket: O(Σ prefix postings + candidates × |text|) plus a Levenshtein per surviving
 * candidate. Texts that differ share few rare grams, and alike texts are mostly dropped, which
 * keeps the index small; texts made of the same few words degrade it towards all pairs (the
 * count filter still spares most Levenshtein calls). `bench/near-duplicates.ts` measures both.
 * With `scope: "image"` a group is one image's pairs, a handful, so the stage is linear overall.
 * Texts too short for the bound (under a handful of characters at 0.9) meet every kept text.
 */
import { distance } from 'fastest-levenshtein';
import { sql } from 'drizzle-orm';
import type { ResolvedBuildInput } from '../../config/build-input';
import { queryRows, type Db } from '../../db/client';
import type { BatchCounts, NearDuplicateBucket, NearDuplicatesInput, PlanNearDuplicatesInput } from '../contracts';
import { heartbeat } from '../heartbeat';
import { normalizeForMatch } from '../model-api/special-words';
import type { Verdict } from './records';
import { writeStageDecisions, type Decision } from './stage-verdicts';

export type NearDuplicateOptions = ResolvedBuildInput['sft']['nearDuplicates'];
export type CompareField = 'question' | 'answer' | 'pair';

const Q = 3;

/** Lower case, typographic quotes folded, every run of non-letters and non-digits one space. */
export function normalizeText(text: string): string {
  return normalizeForMatch(text)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** 1 − Levenshtein distance / length of the longer text; 1 for two empty texts. */
export function similarity(a: string, b: string): number {
  const longer = Math.max(a.length, b.length);
  return longer === 0 ? 1 : 1 - distance(a, b) / longer;
}

/** A text ready for the search: its q-grams as ids, rarest first (ascending). */
interface Prepared {
  text: string;
  grams: Int32Array;
}

/** Gives every q-gram of the texts an id by rarity (then spelling), so id order is rarest first. */
function prepareField(texts: readonly string[]): Prepared[] {
  const frequency = new Map<string, number>();
  const grams = texts.map((t) => qgrams(t));
  for (const gs of grams) for (const g of gs) frequency.set(g, (frequency.get(g) ?? 0) + 1);
  const order = [...frequency.keys()].sort(
    (a, b) => frequency.get(a)! - frequency.get(b)! || (a < b ? -1 : a > b ? 1 : 0),
  );
  const id = new Map(order.map((g, i) => [g, i]));
  return texts.map((text, i) => ({ text, grams: Int32Array.from(grams[i]!.map((g) => id.get(g)!)).sort() }));
}

function grow(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}

/** Size of the intersection of two ascending id arrays. */
function overlap(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! === b[j]!) {
      n++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return n;
}

/** An index of kept texts of one field that answers "which kept text is this one near?". */
class KeptIndex {
  private readonly exact = new Map<string, number>();
  private readonly postings = new Map<number, number[]>();
  private readonly short: number[] = [];
  private readonly kept: Prepared[] = [];
  private readonly owners: number[] = [];
  private seen: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private probe = 0;
  /** 1 − q·(1 − t): the share of a text's q-grams a near text must share (before the −q+1 term). */
  private readonly share: number;

  constructor(private readonly threshold: number) {
    this.share = 1 - Q * (1 - threshold);
  }

  /** The kept item this text is near, with the similarity, or undefined. */
  find(x: Prepared): { owner: number; similarity: number } | undefined {
    const hit = this.exact.get(x.text);
    if (hit !== undefined) return { owner: this.owners[hit]!, similarity: 1 };
    const prefix = this.prefixLength(x);
    let candidates: Int32Array;
    if (prefix === undefined) {
      candidates = Int32Array.from(this.kept.keys());
    } else {
      // Each kept text once, however many prefix grams it shares: a stamp per probe marks it seen.
      const stamp = ++this.probe;
      if (this.seen.length < this.kept.length) this.seen = grow(this.seen, this.kept.length);
      const found: number[] = [];
      const visit = (k: number) => {
        if (this.seen[k] === stamp) return;
        this.seen[k] = stamp;
        found.push(k);
      };
      this.short.forEach(visit);
      for (let p = 0; p < prefix; p++) this.postings.get(x.grams[p]!)?.forEach(visit);
      candidates = Int32Array.from(found).sort();
    }
    let best: { k: number; similarity: number } | undefined;
    for (const k of candidates) {
      const y = this.kept[k]!;
      const longer = Math.max(x.text.length, y.text.length);
      const maxEdits = Math.floor((1 - this.threshold) * longer + 1e-9);
      // Length filter, then count filter: both are necessary for lev(x, y) ≤ maxEdits.
      if (Math.abs(x.text.length - y.text.length) > maxEdits) continue;
      const needed = longer - Q + 1 - Q * maxEdits;
      if (needed > 0 && overlap(x.grams, y.grams) < needed) continue;
      const s = similarity(x.text, y.text);
      if (s + 1e-9 >= this.threshold && (!best || s > best.similarity)) best = { k, similarity: s };
    }
    return best && { owner: this.owners[best.k]!, similarity: best.similarity };
  }

  add(x: Prepared, owner: number): void {
    const k = this.kept.length;
    this.kept.push(x);
    this.owners.push(owner);
    if (!this.exact.has(x.text)) this.exact.set(x.text, k);
    const prefix = this.prefixLength(x);
    if (prefix === undefined) {
      this.short.push(k);
      return;
    }
    for (let p = 0; p < prefix; p++) {
      const g = x.grams[p]!;
      const list = this.postings.get(g);
      if (list) list.push(k);
      else this.postings.set(g, [k]);
    }
  }

  /** How many of the rarest grams any near text must share one of; undefined when too short to tell. */
  private prefixLength(x: Prepared): number | undefined {
    const minShared = Math.ceil(x.text.length * this.share - Q + 1);
    if (minShared < 1 || x.grams.length === 0) return undefined;
    return Math.max(1, x.grams.length - minShared + 1);
  }
}

/** A text's q-grams as a set: each repeat of a gram is tagged with its occurrence number. */
export function qgrams(text: string): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i + Q <= text.length; i++) {
    const g = text.slice(i, i + Q);
    const n = (seen.get(g) ?? 0) + 1;
    seen.set(g, n);
    out.push(`${g}\u0001${n}`);
  }
  return out;
}

export interface DedupeItem {
  id: string;
  question: string;
  answer: string;
}

export interface DedupeDecision {
  id: string;
  duplicateOf?: string;
  field?: CompareField;
  similarity?: number;
}

/** Decides, in the items' order, which are near duplicates of an earlier kept item. */
export function findNearDuplicates(
  items: readonly DedupeItem[],
  options: Pick<NearDuplicateOptions, 'threshold' | 'compare'>,
): DedupeDecision[] {
  const fields: CompareField[] =
    options.compare === 'pair' ? ['pair'] : options.compare === 'answer' ? ['answer'] : ['answer', 'question'];
  const texts = items.map((it) => {
    const q = normalizeText(it.question);
    const a = normalizeText(it.answer);
    return { question: q, answer: a, pair: `${q} / ${a}` };
  });
  const prepared = new Map(fields.map((f) => [f, prepareField(texts.map((t) => t[f]))]));
  const indexes = new Map(fields.map((f) => [f, new KeptIndex(options.threshold)]));
  return items.map((item, i) => {
    for (const f of fields) {
      const hit = indexes.get(f)!.find(prepared.get(f)![i]!);
      if (hit) {
        const similarity = Math.round(hit.similarity * 1000) / 1000;
        return { id: item.id, duplicateOf: items[hit.owner]!.id, field: f, similarity };
      }
    }
    for (const f of fields) indexes.get(f)!.add(prepared.get(f)![i]!, i);
    return { id: item.id };
  });
}

const STAGE = 'near_duplicate';

/** The class × task buckets holding live SFT pairs, largest first. */
export async function planNearDuplicateBuckets(db: Db, input: PlanNearDuplicatesInput): Promise<NearDuplicateBucket[]> {
  const rows = await queryRows<{ class_name: string; task: string; n: string }>(
    db,
    sql`select coalesce(i.class_name, '') as class_name, r.task, count(*) as n
          from records r join images i on i.seq = r.image_seq
         where r.build_id = ${input.buildId} and r.set = 'sft' and r.status = 'active'
         group by 1, 2 order by 3 desc, 1, 2`,
  );
  return rows.map((r) => ({ className: r.class_name, task: r.task, count: Number(r.n) }));
}

interface BucketRow {
  id: string;
  image_seq: number;
  question: string | null;
  answer: string | null;
  box: unknown;
  verdict: Verdict['verdict'] | null;
  reason: string | null;
  detail: unknown;
}

/** Drops the near duplicates of one bucket; counts cover every pair of the bucket, stored or new. */
export async function dropNearDuplicates(db: Db, input: NearDuplicatesInput): Promise<BatchCounts> {
  const { buildId, bucket } = input;
  // The bucket is every pair that reached this stage: still live, or already decided here.
  const rows = await queryRows<BucketRow>(
    db,
    sql`select r.id, r.image_seq, r.question, r.answer, r.box, v.verdict, v.reason, v.detail
          from records r
          join images i on i.seq = r.image_seq
          left join verdicts v on v.record_id = r.id and v.stage = ${STAGE}
         where r.build_id = ${buildId} and r.set = 'sft' and r.task = ${bucket.task}
           and coalesce(i.class_name, '') = ${bucket.className}
           and (r.status = 'active' or v.id is not null)
         order by case when r.origin = 'generated' then 0 else 1 end, r.seq`,
  );
  // Localization pairs are only compared with pairs about the same box: the box is the answer.
  const perImage = input.nearDuplicates.scope === 'image';
  const groups = new Map<string, BucketRow[]>();
  for (const r of rows) {
    const key = `${perImage ? r.image_seq : ''}|${r.box ? JSON.stringify(r.box) : ''}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const decisions: Decision[] = [];
  for (const group of groups.values()) {
    const found = findNearDuplicates(
      group.map((r) => ({ id: r.id, question: r.question ?? '', answer: r.answer ?? '' })),
      input.nearDuplicates,
    );
    found.forEach((d, k) => {
      const row = group[k]!;
      if (row.verdict) {
        decisions.push({
          id: row.id,
          stored: true,
          verdict: { stage: STAGE, verdict: row.verdict, reason: row.reason ?? undefined },
        });
        return;
      }
      const verdict: Verdict = d.duplicateOf
        ? {
            stage: STAGE,
            verdict: 'dropped',
            reason: 'near_duplicate',
            detail: { duplicateOf: d.duplicateOf, field: d.field, similarity: d.similarity },
          }
        : { stage: STAGE, verdict: 'kept' };
      decisions.push({ id: row.id, stored: false, verdict });
    });
    heartbeat({ bucket, decided: decisions.length, total: rows.length });
  }
  return writeStageDecisions(db, buildId, decisions);
}
