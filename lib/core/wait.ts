import { RunbookError } from './errors.ts';

export type Attempt<T> = { done: true; value: T } | { done: false; reason: string; retryable?: boolean };

export interface WaitOptions {
  /** What is awaited, for the error ("EventfoldDB health on 127.0.0.1:2113"). */
  what: string;
  deadlineMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** 0..1: each delay is scaled by a random factor in [1-jitter, 1]. */
  jitter?: number;
  host?: string;
  hint?: string;
  onRetry?: (attempt: number, reason: string, elapsedMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Source of jitter in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The one wait used everywhere: polls `attempt` with exponential backoff and jitter until it
 * reports done, reports a non-retryable failure, or the deadline passes. Never unbounded.
 */
export async function waitFor<T>(attempt: (n: number) => Promise<Attempt<T>>, o: WaitOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? realSleep;
  const start = now();
  let delay = o.initialDelayMs ?? 500;
  let last = 'not tried';
  for (let n = 1; ; n++) {
    const r = await attempt(n);
    if (r.done) return r.value;
    last = r.reason;
    if (r.retryable === false) {
      throw new RunbookError('stepFailed', `${o.what}: ${r.reason}`, { host: o.host, hint: o.hint, retryable: false });
    }
    const elapsed = now() - start;
    const remaining = o.deadlineMs - elapsed;
    if (remaining <= 0) break;
    o.onRetry?.(n, r.reason, elapsed);
    const jitter = o.jitter ?? 0.2;
    const d = Math.min(delay * (1 - jitter * (o.random ?? Math.random)()), remaining);
    await sleep(Math.max(0, d));
    delay = Math.min(delay * (o.factor ?? 2), o.maxDelayMs ?? 10_000);
  }
  throw new RunbookError('stepFailed', `${o.what}: gave up after ${Math.round(o.deadlineMs / 1000)} s (last: ${last})`, {
    host: o.host,
    hint: o.hint,
    retryable: true,
  });
}
