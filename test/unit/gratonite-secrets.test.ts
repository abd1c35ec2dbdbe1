// Gratonite's config refuses weak, missing and default secrets and a loose CORS_ORIGIN before
// anything runs; gratonite.secrets writes strong ones into a new file; no secret reaches argv.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import { recorder } from '../../lib/render/tty.ts';
import { SECRET_KEYS, gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { generatedEnv, secrets } from '../../runbooks/gratonite/generate.ts';
import { composeFiles } from '../../runbooks/gratonite/host.ts';
import { DEV_DEFAULTS, entropyBits, secretChecks, token } from '../../runbooks/gratonite/secrets.ts';
import { ScriptedExecutor } from './fakes.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'gratonite-'));
const SITE = ['DOMAIN=chat.example.com', 'ADMIN_CIDRS=198.51.100.0/24', 'CORS_ORIGIN=https://app.chat.example.com', 'API_IMAGE=ghcr.io/gratonite/api', 'WEB_IMAGE=ghcr.io/gratonite/web', 'GRATONITE_TAG=v1.4.2', 'ACME_EMAIL=ops@example.com'];

/** Loads the config from a site file plus these secret lines (mode 600); returns the error or the config. */
function load(secretLines: string[], site = SITE) {
  const d = dir();
  writeFileSync(join(d, 'site.env'), `${site.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(join(d, 'secrets.env'), `${secretLines.join('\n')}\n`, { mode: 0o600 });
  try {
    return loadConfig(gratoniteConfig, [join(d, 'site.env'), join(d, 'secrets.env')]);
  } catch (e) {
    if (e instanceof RunbookError) return e;
    throw e;
  }
}
const good = () => generatedEnv().split('\n').filter((l) => /^[A-Z_]+=/.test(l));
const withSecret = (k: string, v: string) => [...good().filter((l) => !l.startsWith(`${k}=`)), `${k}=${v}`];
const refused = (r: unknown, re: RegExp) => {
  expect(r).toBeInstanceOf(RunbookError);
  expect((r as RunbookError).kind).toBe('config');
  expect((r as RunbookError).message).toMatch(re);
};

describe('gratonite secrets are refused when weak, missing or a development default', () => {
  it('generated secrets load', () => {
    const c = load(good());
    expect(c).not.toBeInstanceOf(RunbookError);
  });

  it.each(Object.entries(DEV_DEFAULTS).flatMap(([k, vs]) => vs.map((v) => [k, v] as const)))('%s = upstream default "%s" is refused, the value not quoted', (k, v) => {
    const r = load(withSecret(k, v));
    refused(r, new RegExp(`${k} `));
    if (v.length >= 4) expect((r as RunbookError).message).not.toContain(`${v} `);
  });

  it.each(SECRET_KEYS)('a missing %s is refused (the API would fall back to its default)', (k) => {
    refused(load(good().filter((l) => !l.startsWith(`${k}=`))), new RegExp(`${k} is required`));
  });

  it('JWT_SECRET: 63 characters, repeats, runs and defaults inside are refused; 64 hex digits and 96 random pass', () => {
    expect(secretChecks.jwt(token(63))).toMatch(/63 characters; it must be at least 64/);
    expect(secretChecks.jwt('ab'.repeat(40))).toMatch(/repetition of 2 characters/);
    expect(secretChecks.jwt('a'.repeat(70))).toMatch(/repetition of 1/);
    expect(secretChecks.jwt('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij')).toMatch(/consecutive characters/);
    expect(secretChecks.jwt(`dev-secret-change-me-in-production-please-now${token(30)}`)).toMatch(/known development default/);
    expect(secretChecks.jwt('aaaaaaaabbbbbbbbaaaaaaaabbbbbbbbaaaaaaaabbbbbbbbaaaaaaaabbbbbbbbc')).toMatch(/distinct characters/);
    expect(secretChecks.jwt('0f4c1e9a7b3d5c2e8f6a1b0c9d7e5f3a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1e')).toBeNull();
    for (let i = 0; i < 200; i++) expect(secretChecks.jwt(token(96))).toBeNull();
  });

  it('ENCRYPTION_KEY must be exactly 32 bytes of random material', () => {
    expect(secretChecks.encryptionKey(token(31))).toMatch(/31 bytes/);
    expect(secretChecks.encryptionKey(token(33))).toMatch(/33 bytes/);
    expect(secretChecks.encryptionKey('0123456789abcdef0123456789abcdef')).toMatch(/development default/);
    expect(secretChecks.encryptionKey('abababababababababababababababab')).toMatch(/repetition/);
    for (let i = 0; i < 200; i++) expect(secretChecks.encryptionKey(token(32))).toBeNull();
    expect(entropyBits('aaaa')).toBe(0);
  });

  it('the published example values are refused like defaults', () => {
    for (const k of SECRET_KEYS) {
      const spec = gratoniteConfig.vars[k];
      expect(spec?.check?.(spec.example), k).toMatch(/published example/);
    }
  });

  it.each([
    ['*', /holds "\*"/],
    ['https://*.chat.example.com', /holds "\*"/],
    ['http://app.chat.example.com', /plain HTTP/],
    ['https://app.chat.example.com,https://evil.example', /exactly the public origin https:\/\/app\.chat\.example\.com/],
    ['https://chat.example.com', /exactly the public origin/],
  ])('CORS_ORIGIN=%s is refused', (v, re) => {
    refused(load(good(), [...SITE.filter((l) => !l.startsWith('CORS_ORIGIN=')), `CORS_ORIGIN=${v}`]), re);
  });

  it('TLS_ISSUER=acme needs ACME_EMAIL', () => {
    refused(load(good(), SITE.filter((l) => !l.startsWith('ACME_EMAIL='))), /needs ACME_EMAIL/);
  });
});

describe('gratonite.secrets --generate', () => {
  const run = async (into: string) => {
    const rec = recorder();
    const res = await runSteps(secrets, { exec: new ScriptedExecutor(), config: { into }, emit: rec.emit });
    return { res, text: JSON.stringify(rec.events) };
  };

  it('writes every secret into a new file, mode 600, and prints none of them', async () => {
    const into = join(dir(), 'secrets.env');
    const { res, text } = await run(into);
    expect(res.exitCode).toBe(0);
    expect(statSync(into).mode & 0o777).toBe(0o600);
    const lines = readFileSync(into, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    expect(lines.map((l) => l.split('=')[0])).toEqual([...SECRET_KEYS]);
    for (const l of lines) expect(text).not.toContain(l.slice(l.indexOf('=') + 1));
    expect(load(lines)).not.toBeInstanceOf(RunbookError);
  });

  it('refuses an existing file and leaves it as it was', async () => {
    const into = join(dir(), 'secrets.env');
    writeFileSync(into, 'KEEP=1\n');
    const { res, text } = await run(into);
    expect(res.exitCode).toBe(4);
    expect(text).toMatch(/never overwritten/);
    expect(readFileSync(into, 'utf8')).toBe('KEEP=1\n');
  });
});

describe('no secret in argv', () => {
  it('writing the env files passes every secret on stdin only, and the files are mode 600', async () => {
    const c = load(good());
    if (c instanceof RunbookError) throw c;
    const files = composeFiles(c);
    for (const f of files.filter((x) => /(api|stateful|livekit)\.env$/.test(x.path))) expect(f.mode).toBe('0600');
    const { ensureFile } = await import('../../lib/exec/files.ts');
    const exec = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'stat' ? { exitCode: 1 } : {}));
    for (const f of files) await ensureFile(exec, f);
    const argv = exec.calls.map((x) => x.argv.join(' ')).join('\n');
    for (const k of SECRET_KEYS) expect(argv).not.toContain(c.secrets[k].reveal());
    expect(exec.calls.some((x) => String((x.stdin as string | undefined) ?? '').includes(c.secrets.JWT_SECRET.reveal()))).toBe(true);
  });
});
