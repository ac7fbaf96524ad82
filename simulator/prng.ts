/**
 * Hashing and the deterministic pseudo-random generator: every simulator decision is drawn from
 * a stream keyed by sha256(seed + canonical request body), so a request always gets the same answer.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted recursively, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${entries.join(',')}}`;
}

/** Hex sha256 of a string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The request key: sha256 of the seed and the canonical body. */
export function requestHash(seed: string, body: unknown): string {
  return sha256Hex(`${seed}\u0000${canonicalJson(body)}`);
}

/** A deterministic generator of uniform numbers in [0, 1), one independent stream per (key, stream). */
export class Prng {
  private counter = 0;
  private readonly key: string;

  constructor(hash: string, stream: string) {
    this.key = `${hash}:${stream}`;
  }

  /** The next uniform number in [0, 1). */
  next(): number {
    const digest = createHash('sha256').update(`${this.key}:${this.counter}`).digest();
    this.counter += 1;
    // 48 bits are plenty for a uniform double.
    return digest.readUIntBE(0, 6) / 2 ** 48;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick needs a non-empty list');
    return items[this.int(items.length)] as T;
  }

  /** `count` distinct elements of a list (fewer if the list is shorter), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) {
      out.push(pool.splice(this.int(pool.length), 1)[0] as T);
    }
    return out;
  }
}
