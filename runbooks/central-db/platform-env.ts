import { randomBytes } from 'node:crypto';
import { renderAsset } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { KNOWN_WEAK } from './config.ts';

/**
 * /srv/config/platform.env, the seed's single source of secrets, read by `docker compose
 * --env-file`. Kept as ordered lines so a merge changes only the keys it owns and keeps the rest
 * (other systems' keys, comments) byte for byte.
 */
export interface PlatformEnv {
  lines: string[];
}

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function unquote(raw: string): string {
  const m = /^'([^']*)'$/.exec(raw) ?? /^"([^"\\$]*)"$/.exec(raw);
  return m ? (m[1] as string) : raw;
}

export function parsePlatformEnv(text: string): PlatformEnv {
  return { lines: text.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === '')) };
}

/** The values, each secret-looking one registered for redaction as it is read. */
export function envValues(env: PlatformEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of env.lines) {
    const m = KEY_LINE.exec(l);
    if (!m) continue;
    const v = unquote(m[2] as string);
    // The seed's "6432" is public knowledge (and a port number): redacting it would garble every "pgbouncer:6432".
    if (/PASSWORD/.test(m[1] as string) && !KNOWN_WEAK.includes(v)) new Secret(m[1] as string, v);
    out.set(m[1] as string, v);
  }
  return out;
}

/** A value compose's env-file parser and ours read back identically, or a refusal. */
export function envLine(key: string, value: string): string {
  if (/['\n\r]/.test(value)) throw new RunbookError('config', `${key} holds a single quote or a line break, which platform.env cannot carry`, { hint: `choose another value for ${key}` });
  return `${key}=${/^[\w@%+=:,./-]*$/.test(value) ? value : `'${value}'`}`;
}

/** Sets keys (replacing a key's line in place, appending new keys); every other line is kept. */
export function mergeEnv(env: PlatformEnv, set: Record<string, string>): PlatformEnv {
  const lines = [...env.lines];
  const todo = new Map(Object.entries(set));
  for (let i = 0; i < lines.length; i++) {
    const m = KEY_LINE.exec(lines[i] as string);
    const k = m?.[1];
    if (k && todo.has(k)) {
      lines[i] = envLine(k, todo.get(k) as string);
      todo.delete(k);
    }
  }
  for (const [k, v] of todo) lines.push(envLine(k, v));
  return { lines };
}

export const renderEnv = (env: PlatformEnv) => `${env.lines.join('\n')}\n`;

/** Every login PgBouncer serves: the admin and each onboarded app (<X>_DB_USER with <X>_DB_PASSWORD). */
export function poolUsers(values: Map<string, string>): { user: string; password: string }[] {
  const out: { user: string; password: string }[] = [];
  const admin = values.get('POSTGRES_USER');
  const adminPw = values.get('POSTGRES_PASSWORD');
  if (admin && adminPw) out.push({ user: admin, password: adminPw });
  for (const [k, user] of values) {
    const m = /^(.+)_DB_USER$/.exec(k);
    const pw = m ? values.get(`${m[1]}_DB_PASSWORD`) : undefined;
    if (m && pw) out.push({ user, password: pw });
  }
  return out.sort((a, b) => a.user.localeCompare(b.user));
}

/**
 * PgBouncer's auth_file: `"user" "password"` per line. Plain values (PgBouncer then speaks SCRAM to
 * clients and to the server with them); the file is mode 0644 inside /srv/config (0700 root), so
 * only root on the host reaches it and the container's own user can read it.
 */
export function userlist(values: Map<string, string>): string {
  return poolUsers(values)
    .map(({ user, password }) => {
      if (password.includes('"')) throw new RunbookError('config', `the password of ${user} holds a double quote, which PgBouncer's userlist cannot carry`, { hint: 'rotate it: runbook run central-db.rotate-password' });
      return `"${user}" "${password}"\n`;
    })
    .join('');
}

export const pgbouncerIni = (adminUser: string) => renderAsset('runbooks/central-db/files/pgbouncer.ini', { ADMIN_USER: adminUser });
export const redisConf = (password: string) => renderAsset('runbooks/central-db/files/redis-stack.conf', { REDIS_PASSWORD: password });

/**
 * Why an application password must be refused, or null: the seed's "6432", too short, or the
 * same value as another login's (admin, Redis, another app), so one leak never opens two doors.
 */
export function passwordProblem(key: string, value: string, values: Map<string, string>, minLength: number): string | null {
  if (KNOWN_WEAK.includes(value)) return `${key} is "${value}", the seed's known-weak workaround value`;
  if (value.length < minLength) return `${key} is ${value.length} characters, shorter than ${minLength}`;
  for (const [k, v] of values) if (k !== key && /PASSWORD$/.test(k) && v === value) return `${key} is the same value as ${k}`;
  return null;
}

/** A new strong password: 32 characters of letters and digits (safe in env files, URLs and the userlist). */
export function newPassword(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < 32) {
    for (const b of randomBytes(48)) if (b < 248 && out.length < 32) out += alphabet[b % 62];
  }
  new Secret('generated password', out);
  return out;
}
