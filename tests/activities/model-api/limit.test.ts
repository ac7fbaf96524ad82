/**
 * Bounded concurrency over a batch: every item settles, at most `concurrency` run at once.
 */
import { mapSettled, rethrowFirst } from '../../../activities/model-api/limit';

/** A promise the test resolves by hand, so that no timing is involved. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('mapSettled', () => {
  test('keeps at most the given number of items in flight', async () => {
    const gates = Array.from({ length: 7 }, () => deferred());
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const run = mapSettled(gates, 3, async (gate, i) => {
      started.push(i);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await gate.promise;
      inFlight -= 1;
      return i * 10;
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) {
      g.resolve();
      await new Promise((r) => setImmediate(r));
    }
    const results = await run;
    expect(most).toBe(3);
    expect(results).toEqual(gates.map((_g, i) => ({ status: 'fulfilled', value: i * 10 })));
  });

  test('settles every item even when some fail, in input order', async () => {
    const results = await mapSettled([1, 2, 3, 4], 2, async (n) => {
      if (n % 2 === 0) throw new Error(`bad ${n}`);
      return n;
    });
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('bad 2'));
  });

  test('runs one lane for a concurrency below one and returns nothing for no items', async () => {
    let inFlight = 0;
    let most = 0;
    await mapSettled([1, 2, 3], 0, async () => {
      most = Math.max(most, ++inFlight);
      await Promise.resolve();
      inFlight -= 1;
    });
    expect(most).toBe(1);
    expect(await mapSettled([], 4, async () => 1)).toEqual([]);
  });
});

describe('rethrowFirst', () => {
  test('throws the first rejection among the results', () => {
    const first = new Error('first');
    expect(() =>
      rethrowFirst([
        { status: 'fulfilled', value: 1 },
        { status: 'rejected', reason: first },
        { status: 'rejected', reason: new Error('second') },
      ]),
    ).toThrow(first);
  });

  test('returns when every result is fulfilled', () => {
    expect(() => rethrowFirst([{ status: 'fulfilled', value: 1 }])).not.toThrow();
  });
});

describe('createLimiter', () => {
  test('runs at most n tasks at once and starts the waiting ones in arrival order', async () => {
    const { createLimiter } = await import('../../../activities/model-api/limit');
    const limit = createLimiter(2);
    const gates = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    let active = 0;
    let peak = 0;
    const runs = gates.map((g, i) =>
      limit(async () => {
        started.push(i);
        peak = Math.max(peak, ++active);
        await g.promise;
        active -= 1;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    gates[0]!.resolve();
    for (const g of gates.slice(2)) g.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  test('a failing task frees its slot', async () => {
    const { createLimiter } = await import('../../../activities/model-api/limit');
    const limit = createLimiter(1);
    await expect(limit(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit(async () => 'next')).toBe('next');
  });
});
