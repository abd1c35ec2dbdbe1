// Validation of one answer of Cloudflare's `GET /client/v4/ips` before anything is loaded from
// it. Every refusal is a one-line reason; the caller keeps the last good list loaded.
import { type Cidr, type Family, contains, parseCidr } from './cidr.ts';

export interface Limits {
  /** The shortest prefix an entry may have: a shorter one admits too large a share of the world. */
  minPrefix: Record<Family, number>;
  /** At most this share of the previous list's entries (per family) may be added plus removed at once. */
  maxChange: number;
}

/**
 * Cloudflare's largest ranges are an IPv4 /13 and an IPv6 /29 (a /12 until 2021); these bounds
 * leave room for a range twice as large and no more. A change of half the list at once has never
 * happened (the 2021 change swapped 1 range for 2 of 15).
 */
export const DEFAULT_LIMITS: Limits = { minPrefix: { 4: 12, 6: 24 }, maxChange: 0.5 };

export interface AllowList {
  v4: string[];
  v6: string[];
  /** Cloudflare's digest of the lists (a body field), when the answer had one. */
  etag?: string;
}

export class Refusal extends Error {}

const fail = (why: string): never => {
  throw new Refusal(why);
};

function family(raw: unknown, f: Family, key: string, limits: Limits): string[] {
  if (!Array.isArray(raw)) fail(`result.${key} is not a list`);
  const list = raw as unknown[];
  if (list.length === 0) fail(`result.${key} is empty`);
  if (list.length > 1000) fail(`result.${key} has ${list.length} entries (more than 1000)`);
  const parsed: Cidr[] = [];
  for (const e of list) {
    const c = parseCidr(e, f);
    if (typeof c === 'string') fail(`result.${key}: ${c}`);
    const cidr = c as Cidr;
    if (cidr.bits < limits.minPrefix[f]) fail(`result.${key}: "${cidr.text}" would admit 1/${2 ** cidr.bits} of all IPv${f} (prefixes shorter than /${limits.minPrefix[f]} are refused)`);
    parsed.push(cidr);
  }
  // An interval set refuses overlapping elements: keep only ranges no other range contains.
  const kept = parsed.filter((c, i) => !parsed.some((o, j) => j !== i && contains(o, c) && (o.bits < c.bits || j < i)));
  return kept.map((c) => c.text);
}

/** The lists from a parsed answer body, or a Refusal saying why not. */
export function validateBody(body: unknown, limits: Limits = DEFAULT_LIMITS): AllowList {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('the answer is not a JSON object');
  const b = body as { success?: unknown; errors?: unknown; result?: unknown };
  if (b.success !== true) fail(`success is ${JSON.stringify(b.success)}${errorsText(b.errors)}`);
  if (typeof b.result !== 'object' || b.result === null) fail('result is missing');
  const r = b.result as { ipv4_cidrs?: unknown; ipv6_cidrs?: unknown; etag?: unknown };
  return { v4: family(r.ipv4_cidrs, 4, 'ipv4_cidrs', limits), v6: family(r.ipv6_cidrs, 6, 'ipv6_cidrs', limits), etag: typeof r.etag === 'string' ? r.etag : undefined };
}

function errorsText(errors: unknown): string {
  if (!Array.isArray(errors) || errors.length === 0) return '';
  const parts = errors.map((e: { code?: unknown; message?: unknown }) => `${String(e?.code ?? '?')} ${String(e?.message ?? '')}`.trim());
  return ` (errors: ${parts.join('; ').slice(0, 200)})`;
}

/** A whole HTTP answer: status, JSON, then the body. */
export function validateAnswer(a: { status: number; location?: string; body: string }, limits: Limits = DEFAULT_LIMITS): AllowList {
  if (a.status >= 300 && a.status < 400) fail(`HTTP ${a.status}${a.location ? ` to ${a.location}` : ''}: a redirect is not followed (point --url at the final address)`);
  let json: unknown;
  try {
    json = JSON.parse(a.body);
  } catch {
    if (a.status !== 200) fail(`HTTP ${a.status} with a body that is not JSON`);
    fail(`the body is not JSON (${a.body.length} bytes${a.body.length ? `, starting ${JSON.stringify(a.body.slice(0, 40))}` : ''})`);
  }
  if (a.status !== 200) fail(`HTTP ${a.status}${errorsText((json as { errors?: unknown })?.errors)}`);
  return validateBody(json, limits);
}

/** Refuses a list that differs from the previous one by more than the bound, per family. */
export function checkChange(prev: AllowList, next: AllowList, limits: Limits = DEFAULT_LIMITS): void {
  for (const k of ['v4', 'v6'] as const) {
    const before = new Set(prev[k]);
    const after = new Set(next[k]);
    const added = [...after].filter((x) => !before.has(x));
    const removed = [...before].filter((x) => !after.has(x));
    const allowed = Math.max(1, Math.floor(limits.maxChange * before.size));
    if (added.length + removed.length > allowed) {
      fail(`the IPv${k.slice(1)} list changes by ${added.length} added and ${removed.length} removed of ${before.size} (at most ${allowed} at once; check the answer, then run with --max-change 1 to accept it)`);
    }
  }
}

export const sameList = (a: AllowList, b: AllowList) => a.v4.join() === b.v4.join() && a.v6.join() === b.v6.join();
