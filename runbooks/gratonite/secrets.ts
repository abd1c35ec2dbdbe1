// Gratonite's secrets: what the API falls back to when one is unset (apps/api/src/env.ts upstream),
// the checks that refuse a weak or missing one before anything is written, and strong new ones.
import { randomBytes } from 'node:crypto';

/** Upstream's development defaults: a deploy carrying any of them is refused. */
export const DEV_DEFAULTS: Record<string, string[]> = {
  JWT_SECRET: ['dev-secret-change-me-in-production-please-now'],
  ENCRYPTION_KEY: ['0123456789abcdef0123456789abcdef'],
  MINIO_ACCESS_KEY: ['gratonite', 'minioadmin'],
  MINIO_SECRET_KEY: ['gratonite123', 'minioadmin'],
  LIVEKIT_API_KEY: ['devkey'],
  LIVEKIT_API_SECRET: ['secret'],
  TURN_USERNAME: ['gratonite'],
  TURN_PASSWORD: ['gratonite123'],
  POSTGRES_PASSWORD: ['gratonite', 'password', 'postgres'],
};

/** Every value the API would use if unset, for the "not a default anywhere" rule. */
const ALL_DEFAULTS = Object.values(DEV_DEFAULTS).flat();

/** Bits per character of the value's own character distribution (Shannon), times its length. */
export function entropyBits(v: string): number {
  const counts = new Map<string, number>();
  for (const ch of v) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / v.length) * Math.log2(n / v.length);
  return h * v.length;
}

/** The shortest period p such that the value is a repetition of its first p characters. */
const period = (v: string): number => {
  for (let p = 1; p <= v.length / 2; p++) if (v.length % p === 0 && v.slice(0, p).repeat(v.length / p) === v) return p;
  return v.length;
};

/** What makes a value low in entropy (repeats, few distinct characters, a known default inside), or null. */
export function weakness(v: string, minBits: number): string | null {
  const inside = ALL_DEFAULTS.find((d) => d.length >= 8 && v.toLowerCase().includes(d.toLowerCase()));
  if (inside) return 'contains a known development default';
  if (/change.?me|example|placeholder|<[^>]*>/i.test(v)) return 'is a placeholder, not a secret';
  if (period(v) < v.length) return `is a repetition of ${period(v)} characters`;
  let steps = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v.charCodeAt(i) - v.charCodeAt(i - 1)) === 1) steps++;
  if (steps > v.length / 3) return 'is mostly a run of consecutive characters';
  const distinct = new Set(v).size;
  if (distinct < Math.min(16, v.length / 2)) return `uses only ${distinct} distinct characters`;
  const bits = entropyBits(v);
  if (bits < minBits) return `holds about ${Math.round(bits)} bits of entropy, under ${minBits}`;
  return null;
}

const isDefault = (key: string, v: string) => (DEV_DEFAULTS[key] ?? []).includes(v) || ALL_DEFAULTS.includes(v);

/** Checks used by the schema: each returns what is wrong (never quoting the value) or null. */
export const secretChecks = {
  jwt: (v: string) => {
    if (isDefault('JWT_SECRET', v)) return 'is the API\'s development default';
    if (v.length < 64) return `is ${v.length} characters; it must be at least 64`;
    // 200, not 256: 64 hex digits (openssl rand -hex 32) measure about 240 bits this way.
    return weakness(v, 200);
  },
  /**
   * 32 bytes of key material: the API uses the value's bytes as the AES-256 key (its own default
   * is 32 characters), so exactly 32 bytes, every byte from a random draw (no pattern, no default).
   */
  encryptionKey: (v: string) => {
    if (isDefault('ENCRYPTION_KEY', v)) return 'is the API\'s development default';
    const n = Buffer.byteLength(v);
    if (n !== 32) return `is ${n} bytes; it must be exactly 32 bytes of key material`;
    return weakness(v, 120);
  },
  /** Any other secret: not a default, at least `min` characters, not a pattern. */
  other: (key: string, min: number) => (v: string) => {
    if (isDefault(key, v)) return 'is the API\'s development default';
    if (v.length < min) return `is ${v.length} characters; it must be at least ${min}`;
    return weakness(v, Math.min(96, min * 3));
  },
};

/** The secret variables and how `gratonite.secrets` makes each one (URL- and config-safe alphabet). */
export const GENERATED: Record<string, () => string> = {
  JWT_SECRET: () => token(96),
  ENCRYPTION_KEY: () => token(32),
  POSTGRES_PASSWORD: () => token(40),
  MINIO_ACCESS_KEY: () => `gr${token(22)}`,
  MINIO_SECRET_KEY: () => token(48),
  LIVEKIT_API_KEY: () => `API${token(20)}`,
  LIVEKIT_API_SECRET: () => token(48),
  TURN_USERNAME: () => `turn${token(16)}`,
  TURN_PASSWORD: () => token(40),
};

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` characters drawn uniformly from 62 symbols (rejection sampling: no modulo bias). */
export function token(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62];
    }
  }
  return out;
}
