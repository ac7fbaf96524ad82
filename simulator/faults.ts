/**
 * Fault injection. Transport faults (429, 500, a hang past the client's timeout) and the latency
 * depend on the request hash and a per-body attempt counter, so a retry of a refused body
 * succeeds; content faults (malformed, refusal, contradiction, wrong box) depend on the hash
 * alone, so they repeat for the same body. Everything is drawn from the seed: a run is repeatable.
 */
import { Prng } from './prng';

/** Rates (0..1) and knobs of the injected faults. */
export interface SimulatorFaults {
  /** Mean milliseconds to sleep before answering a POST. */
  latencyMs?: number;
  /**
   * Spread of the latency: 0 sleeps exactly `latencyMs`; above 0 draws from a log-normal
   * distribution with this sigma whose mean is `latencyMs` (capped at ten times the mean).
   */
  latencySpread?: number;
  /** Share of first attempts answered with 429. */
  rateLimitRate?: number;
  /** Share of first attempts answered with 500. */
  serverErrorRate?: number;
  /** Share of first attempts that hang for `hangMs` (past any sane client timeout), then get a 504. */
  timeoutRate?: number;
  /** How long a hanging request waits before its 504, unless the client gives up first (default 600000). */
  hangMs?: number;
  /** Share of bodies whose reply is unparseable or misses a field. */
  malformedRate?: number;
  /** Share of bodies answered with a refusal or hedge. */
  refusalRate?: number;
  /** Share of bodies answered with the opposite authenticity (or a wrong attack type). */
  contradictionRate?: number;
  /** Share of localization answers (with a box in the prompt) that give a wrong box instead. */
  wrongBoxRate?: number;
  /** Value of the `retry-after` header of a 429, in seconds (default 1). */
  retryAfterSeconds?: number;
}

/** Fully resolved fault settings. */
export type ResolvedFaults = Required<SimulatorFaults>;

/** A content fault, or none. */
export type ContentFault = 'none' | 'malformed' | 'refusal' | 'contradiction' | 'wrong-box';

/** A transport fault: an HTTP status to answer with, or a hang. */
export type TransportFault = 429 | 500 | 'timeout';

/** Fills defaults and rejects rates outside [0, 1] or summing above 1. */
export function resolveFaults(faults: SimulatorFaults): ResolvedFaults {
  const resolved: ResolvedFaults = {
    latencyMs: faults.latencyMs ?? 0,
    latencySpread: faults.latencySpread ?? 0,
    rateLimitRate: faults.rateLimitRate ?? 0,
    serverErrorRate: faults.serverErrorRate ?? 0,
    timeoutRate: faults.timeoutRate ?? 0,
    hangMs: faults.hangMs ?? 600_000,
    malformedRate: faults.malformedRate ?? 0,
    refusalRate: faults.refusalRate ?? 0,
    contradictionRate: faults.contradictionRate ?? 0,
    wrongBoxRate: faults.wrongBoxRate ?? 0,
    retryAfterSeconds: faults.retryAfterSeconds ?? 1,
  };
  const rates = [
    'rateLimitRate',
    'serverErrorRate',
    'timeoutRate',
    'malformedRate',
    'refusalRate',
    'contradictionRate',
    'wrongBoxRate',
  ] as const;
  for (const key of rates) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value < 0 || value > 1)
      throw new RangeError(`${key} must be between 0 and 1, got ${value}`);
  }
  if (resolved.rateLimitRate + resolved.serverErrorRate + resolved.timeoutRate > 1) {
    throw new RangeError('rateLimitRate + serverErrorRate + timeoutRate must not exceed 1');
  }
  if (resolved.malformedRate + resolved.refusalRate + resolved.contradictionRate > 1) {
    throw new RangeError('malformedRate + refusalRate + contradictionRate must not exceed 1');
  }
  if (!Number.isFinite(resolved.latencyMs) || resolved.latencyMs < 0) throw new RangeError('latencyMs must be >= 0');
  if (!Number.isFinite(resolved.latencySpread) || resolved.latencySpread < 0 || resolved.latencySpread > 3) {
    throw new RangeError('latencySpread must be between 0 and 3');
  }
  if (!Number.isFinite(resolved.hangMs) || resolved.hangMs < 0) throw new RangeError('hangMs must be >= 0');
  if (!Number.isFinite(resolved.retryAfterSeconds) || resolved.retryAfterSeconds < 0)
    throw new RangeError('retryAfterSeconds must be >= 0');
  return resolved;
}

/** Per-body attempt counters that decide the transport faults. */
export class AttemptTracker {
  private readonly attempts = new Map<string, { count: number; lastFailed: boolean }>();

  constructor(private readonly capacity = 100_000) {}

  /**
   * The transport fault for this attempt of a body: drawn from (hash, attempt number), except that
   * the attempt right after a failed one always goes through.
   */
  next(hash: string, faults: ResolvedFaults): { attempt: number; fault?: TransportFault } {
    let state = this.attempts.get(hash);
    if (!state) {
      if (this.attempts.size >= this.capacity) {
        const oldest = this.attempts.keys().next().value;
        if (oldest !== undefined) this.attempts.delete(oldest);
      }
      state = { count: 0, lastFailed: false };
      this.attempts.set(hash, state);
    }
    const attempt = state.count;
    state.count += 1;
    if (state.lastFailed) {
      state.lastFailed = false;
      return { attempt };
    }
    const draw = new Prng(hash, `transport:${attempt}`).next();
    let fault: TransportFault | undefined;
    if (draw < faults.rateLimitRate) fault = 429;
    else if (draw < faults.rateLimitRate + faults.serverErrorRate) fault = 500;
    else if (draw < faults.rateLimitRate + faults.serverErrorRate + faults.timeoutRate) fault = 'timeout';
    state.lastFailed = fault !== undefined;
    return fault === undefined ? { attempt } : { attempt, fault };
  }
}

/** The latency of one attempt of a body, in milliseconds. */
export function latencyFor(hash: string, attempt: number, faults: ResolvedFaults): number {
  const mean = faults.latencyMs;
  const sigma = faults.latencySpread;
  if (mean <= 0 || sigma === 0) return mean;
  const prng = new Prng(hash, `latency:${attempt}`);
  // Box-Muller from two uniform draws; the log-normal's mean is exp(mu + sigma^2 / 2).
  const u = 1 - prng.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * prng.next());
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.min(10 * mean, Math.exp(mu + sigma * z));
}

/** True when a localization answer of this body should carry a wrong box. */
export function wrongBoxFault(hash: string, faults: ResolvedFaults): boolean {
  return faults.wrongBoxRate > 0 && new Prng(hash, 'wrong-box').next() < faults.wrongBoxRate;
}

/** The content fault of a body, from its hash alone; `allowed` limits which faults apply. */
export function contentFault(hash: string, faults: ResolvedFaults, allowed: readonly ContentFault[]): ContentFault {
  const draw = new Prng(hash, 'content-fault').next();
  let edge = 0;
  const bands: Array<[ContentFault, number]> = [
    ['malformed', faults.malformedRate],
    ['refusal', faults.refusalRate],
    ['contradiction', faults.contradictionRate],
  ];
  for (const [fault, rate] of bands) {
    edge += rate;
    if (draw < edge) return allowed.includes(fault) ? fault : 'none';
  }
  return 'none';
}

/** A reply text and how it ended. */
export interface RenderedReply {
  content: string;
  finishReason: 'stop' | 'length';
}

/**
 * Breaks a JSON reply: truncation, a missing field (`withoutField` gives the value with one
 * required field removed), or invalid syntax (single quotes and a trailing comma).
 */
export function malformJson(value: Record<string, unknown>, withoutField: () => unknown, prng: Prng): RenderedReply {
  const full = JSON.stringify(value);
  switch (prng.int(3)) {
    case 0: {
      const cut = Math.max(2, Math.floor(full.length * (0.3 + 0.5 * prng.next())));
      return { content: full.slice(0, Math.min(cut, full.length - 1)), finishReason: 'length' };
    }
    case 1:
      return { content: JSON.stringify(withoutField()), finishReason: 'stop' };
    default: {
      const singleQuoted = Object.entries(value)
        .map(([key, v]) => `'${key}': ${typeof v === 'string' ? `'${v.replace(/'/g, "\\'")}'` : JSON.stringify(v)}`)
        .join(', ');
      return { content: `{${singleQuoted},}`, finishReason: 'stop' };
    }
  }
}

/** Breaks a two-line text reply: no answer line, no labels, or an empty truncated answer. */
export function malformText(question: string, answer: string, prng: Prng): RenderedReply {
  switch (prng.int(3)) {
    case 0:
      return { content: `Question: ${question}`, finishReason: 'stop' };
    case 1:
      return { content: `${question}\n${answer}`, finishReason: 'stop' };
    default:
      return { content: `Question: ${question}\nAnswer:`, finishReason: 'length' };
  }
}
