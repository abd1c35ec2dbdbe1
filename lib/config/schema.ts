import { parseCidr } from '../core/cidr.ts';
import { RunbookError } from '../core/errors.ts';
import { Secret } from '../core/secret.ts';
import { type EnvEntry, isExposed, readEnvFile } from './env-file.ts';

export interface VarSpec {
  description: string;
  /** Shown in the example env file; also the value used to validate assets offline. */
  example: string;
  default?: string;
  optional?: boolean;
  secret?: boolean;
  /** Returns what is wrong with the value, or null. */
  check?: (value: string) => string | null;
}

export type Values = Record<string, string | Secret | undefined>;

/** C0 controls (newline, carriage return, tab, escape...) and DEL. */
export const CONTROL = /[\u0000-\u001f\u007f]/;

export interface ConfigSchema<C> {
  vars: Record<string, VarSpec>;
  build(values: Values): C;
}

export function defineConfig<C>(vars: Record<string, VarSpec>, build: (v: Values) => C): ConfigSchema<C> {
  return { vars, build };
}

/** Resolves a runbook's config from env files: unknown, missing and malformed variables are errors naming file and variable. */
/**
 * What a multi-host run adds: `learned` values (read from the system's hosts, e.g. a private
 * address; never secrets) fill variables the env files leave unset, and an env file that sets one
 * to something else is refused; `known` names variables that other runbooks of the same system
 * take, so one env file serves them all.
 */
export interface LoadOptions {
  learned?: Record<string, { value: string; from: string }>;
  known?: ReadonlySet<string>;
}

export function loadConfig<C>(schema: ConfigSchema<C>, files: string[], o: LoadOptions = {}): C {
  const entries = new Map<string, EnvEntry>();
  for (const f of files) for (const [k, e] of readEnvFile(f)) entries.set(k, e);
  const problems: string[] = [];
  for (const [k, e] of entries) {
    if (!(k in schema.vars) && !o.known?.has(k)) problems.push(`${e.file}:${e.line}: unknown variable ${k}${suggest(k, Object.keys(schema.vars))}`);
  }
  for (const [k, l] of Object.entries(o.learned ?? {})) {
    if (!(k in schema.vars) || schema.vars[k]?.secret) continue;
    const e = entries.get(k);
    if (e && e.value !== l.value) problems.push(`${e.file}:${e.line}: ${k}=${e.value}, but ${l.from} says ${l.value} (remove the line to take the learned value)`);
    else entries.set(k, { value: l.value, file: l.from, line: 0 });
  }
  const values: Values = {};
  const exposed = new Set<string>();
  for (const [k, spec] of Object.entries(schema.vars)) {
    const e = entries.get(k);
    const raw = e?.value ?? spec.default;
    const where = e ? (e.line ? `${e.file}:${e.line}` : e.file) : files.join(', ') || '(no env file)';
    if (raw === undefined || raw === '') {
      if (!spec.optional) problems.push(`${where}: ${k} is required (${spec.description}; e.g. ${spec.secret ? '<secret>' : spec.example})`);
      continue;
    }
    // Every value ends up in a one-line slot somewhere (an env file, a unit, a ruleset): a line
    // break there would add lines of the operator's choosing to a file the host trusts.
    if (CONTROL.test(raw)) {
      problems.push(`${where}: ${k} holds a line break or another control character, which no value may hold`);
      continue;
    }
    const bad = spec.check?.(raw);
    // A check may quote what it got; a secret's value is never quoted.
    if (bad) problems.push(`${where}: ${k} ${spec.secret ? bad.split(raw).join('<secret>') : bad}`);
    if (spec.secret && e && isExposed(e.file)) exposed.add(e.file);
    values[k] = spec.secret ? new Secret(k, raw) : raw;
  }
  for (const f of exposed) problems.push(`${f} holds secrets but group or others can read it`);
  if (problems.length) {
    const fix = exposed.size ? `chmod 600 ${[...exposed].join(' ')}` : `edit ${files[0] ?? 'the env file'} and re-run`;
    throw new RunbookError('config', problems.join('\n  '), { hint: fix });
  }
  return schema.build(values);
}

/** The example env file for a schema, as `runbook show NAME --env-example` prints it. */
export function exampleEnv(schema: ConfigSchema<unknown>): string {
  return Object.entries(schema.vars)
    .map(([k, s]) => `# ${s.description}${s.optional ? ' (optional: uncomment to set)' : ''}${s.secret ? ' (secret: keep this file mode 600)' : ''}\n${s.optional ? '# ' : ''}${k}=${quote(s.example)}\n`)
    .join('\n');
}

/** The example values as a Values map, used to render and validate assets offline. */
export function exampleValues(schema: ConfigSchema<unknown>): Values {
  const v: Values = {};
  for (const [k, s] of Object.entries(schema.vars)) v[k] = s.secret ? new Secret(k, s.example) : s.example;
  return v;
}

const quote = (v: string) => (/[\s#"'$]/.test(v) ? `"${v.replace(/(["\\$])/g, '\\$1')}"` : v);

function suggest(k: string, known: string[]): string {
  const near = known.find((n) => n.toLowerCase() === k.toLowerCase() || (Math.abs(n.length - k.length) <= 2 && n.slice(0, 4) === k.slice(0, 4)));
  return near ? ` (did you mean ${near}?)` : '';
}

// Shared value checks.
export const checks = {
  int: (min: number, max: number) => (v: string) => (/^\d+$/.test(v) && +v >= min && +v <= max ? null : `must be a whole number from ${min} to ${max}, got "${v}"`),
  cidrList: (v: string) => {
    const bad = splitList(v).map(parseCidr).filter((c): c is string => typeof c === 'string');
    return splitList(v).length === 0 ? 'must list at least one CIDR' : bad.length ? `has ${bad.join(', ')}` : null;
  },
  cidr: (v: string) => {
    const c = parseCidr(v);
    return typeof c === 'string' ? `must be a CIDR such as 10.0.1.0/24: ${c}` : null;
  },
  name: (v: string) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? null : `must be a Unix user name, got "${v}"`),
  sshKeys: (v: string) => (splitList(v, /\s*;\s*/).every((k) => /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$/.test(k)) ? null : 'must be one or more OpenSSH public keys separated by ";"'),
  oneOf: (...vals: string[]) => (v: string) => (vals.includes(v) ? null : `must be one of ${vals.join(', ')}, got "${v}"`),
  bucket: (v: string) => (/^[\w.-]{1,256}$/.test(v) ? null : `must be a bucket name (letters, digits, "-", "_", "."), got "${v}"`),
  objectName: (v: string) => (/^[\w.+-]+(\/[\w.+-]+)*$/.test(v) && !v.split('/').includes('..') ? null : `must be an object name of simple path parts, got "${v}"`),
  sha256: (v: string) => (/^[0-9a-f]{64}$/.test(v) ? null : 'must be 64 lowercase hex digits'),
  hostPort: (v: string) => (/^[\w.-]+:\d{1,5}$/.test(v) ? null : `must be host:port, got "${v}"`),
  absPath: (v: string) => (/^\/[^\0]*$/.test(v) && !v.includes('..') ? null : `must be an absolute path, got "${v}"`),
};

export function splitList(v: string, sep: RegExp = /[\s,]+/): string[] {
  return v.split(sep).map((s) => s.trim()).filter(Boolean);
}

export const isCidr = (c: string): boolean => typeof parseCidr(c) !== 'string';

/** A plain (non-secret) value; a secret asked for as plain text is a programming error. */
export const str = (v: Values, k: string): string => {
  const x = v[k];
  if (x instanceof Secret) throw new Error(`${k} is a secret; read it with secret()`);
  return x ?? '';
};
export const secret = (v: Values, k: string): Secret => {
  const x = v[k];
  return x instanceof Secret ? x : new Secret(k, x ?? '');
};

/**
 * A dotenv file holding these values, read back by readEnvFile exactly: values with spaces or
 * shell-special characters are single-quoted (dotenv keeps those literally). A value holding a
 * single quote or a newline cannot be written that way and is refused.
 */
export function envText(keys: string[], values: Values, header = ''): string {
  const lines = header ? [header] : [];
  for (const k of keys) {
    const x = values[k];
    if (x === undefined || x === '') continue;
    const v = x instanceof Secret ? x.reveal() : x;
    if (/['\n\r]/.test(v)) throw new RunbookError('config', `${k} holds a single quote or a line break, which an env file written for the host cannot carry`, { hint: `change ${k}` });
    lines.push(`${k}=${/^[\w@%+=:,./-]*$/.test(v) ? v : `'${v}'`}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Several runbooks' schemas (and some variables of their own) read from one env file, as a
 * first-boot user-data needs: each part's values are kept apart so each can be written back
 * as that runbook's own env file.
 */
export function combineSchemas<P extends string, C>(parts: Record<P, ConfigSchema<unknown>>, own: Record<string, VarSpec>, build: (byPart: Record<P, Values>, own: Values) => C): ConfigSchema<C> {
  const vars: Record<string, VarSpec> = {};
  for (const s of [...Object.values<ConfigSchema<unknown>>(parts), { vars: own }]) {
    for (const [k, spec] of Object.entries(s.vars)) {
      if (k in vars) throw new Error(`variable ${k} is defined twice in a combined schema`);
      vars[k] = spec;
    }
  }
  return defineConfig<C>(vars, (v) => {
    const byPart = {} as Record<P, Values>;
    for (const [p, s] of Object.entries(parts) as [P, ConfigSchema<unknown>][]) {
      byPart[p] = Object.fromEntries(Object.keys(s.vars).map((k) => [k, v[k]]));
    }
    return build(byPart, Object.fromEntries(Object.keys(own).map((k) => [k, v[k]])));
  });
}
