import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { checks, defineConfig, loadConfig, secret, str } from '../../lib/config/schema.ts';
import { runbookErrorOf } from './fakes.ts';

const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
const file = (name: string, text: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};

const schema = defineConfig(
  {
    BUCKET: { description: 'backup bucket', example: 'backups' },
    RETENTION_DAYS: { description: 'days kept', example: '7', default: '7', check: checks.int(1, 365) },
    APP_CIDR: { description: 'app subnet', example: '10.0.1.0/24', check: checks.cidr },
    JWT_SECRET: { description: 'signing key', example: 'x'.repeat(64), secret: true, optional: true },
  },
  (v) => ({ bucket: str(v, 'BUCKET'), days: Number(str(v, 'RETENTION_DAYS')), cidr: str(v, 'APP_CIDR'), jwt: v.JWT_SECRET ? secret(v, 'JWT_SECRET') : undefined }),
);

const fail = (files: string[]): RunbookError => runbookErrorOf(() => loadConfig(schema, files));

describe('config from env files', () => {
  it('loads, applies defaults, wraps secrets', () => {
    const c = loadConfig(schema, [file('ok.env', 'BUCKET=b1\nexport APP_CIDR="10.0.1.0/24" # app\nJWT_SECRET=abcdefghijkl\n')]);
    expect(c).toMatchObject({ bucket: 'b1', days: 7, cidr: '10.0.1.0/24' });
    expect(c.jwt).toBeInstanceOf(Secret);
    expect(c.jwt?.reveal()).toBe('abcdefghijkl');
  });

  it('a malformed line names the file and line', () => {
    const e = fail([file('bad.env', 'BUCKET=b1\nthis is not an assignment\n')]);
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/bad\.env:2: not KEY=VALUE/);
  });

  it('unquoted spaces, an unterminated quote and duplicates are errors', () => {
    expect(fail([file('sp.env', 'BUCKET=my bucket\n')]).message).toMatch(/sp\.env:1: the value of BUCKET has spaces/);
    expect(fail([file('q.env', 'BUCKET="open\n')]).message).toMatch(/q\.env:1: the quoted value of BUCKET never ends/);
    expect(fail([file('dup.env', 'BUCKET=a\nBUCKET=b\n')]).message).toMatch(/dup\.env:2: BUCKET is set twice/);
  });

  it('unknown variables are named, with a suggestion', () => {
    const e = fail([file('unk.env', 'BUCKET=b\nAPP_CIDR=10.0.0.0/8\nRETENTON_DAYS=3\n')]);
    expect(e.message).toMatch(/unk\.env:3: unknown variable RETENTON_DAYS \(did you mean RETENTION_DAYS\?\)/);
  });

  it('a missing required variable and a bad value are both reported', () => {
    const e = fail([file('miss.env', 'RETENTION_DAYS=0\n')]);
    expect(e.message).toMatch(/BUCKET is required/);
    expect(e.message).toMatch(/APP_CIDR is required/);
    expect(e.message).toMatch(/RETENTION_DAYS must be a whole number from 1 to 365/);
  });

  it('refuses a secrets file others can read, and says how to fix it', () => {
    const e = fail([file('open.env', 'BUCKET=b\nAPP_CIDR=10.0.0.0/8\nJWT_SECRET=abcdefghijkl\n', 0o644)]);
    expect(e.message).toMatch(/open\.env holds secrets but group or others can read it/);
    expect(e.hint).toMatch(/chmod 600 .*open\.env/);
    expect(e.message).not.toContain('abcdefghijkl');
  });

  it('a missing file is a clear error', () => {
    expect(fail([join(dir, 'nope.env')]).message).toMatch(/cannot read .*nope\.env: no such file/);
  });
});

describe('values that could leak or inject', () => {
  it('a malformed line names file, line and variable, never its value', () => {
    const e = fail([file('leak.env', 'BUCKET=b1\nJWT_SECRET CANARY-abc123-CANARY\n')]);
    expect(e.message).toContain('leak.env:2');
    expect(e.message).toContain('JWT_SECRET');
    expect(e.message).not.toContain('CANARY');
    expect(e.hint).not.toContain('CANARY');
  });

  it('a check that quotes its value never quotes a secret', () => {
    const s = defineConfig({ TOKEN: { description: 't', example: 'x', secret: true, check: (v) => `must be hex, got "${v}"` } }, (v) => v);
    const e = runbookErrorOf(() => loadConfig(s, [file('tok.env', 'TOKEN=CANARY-zz\n')]));
    expect(e.message).toContain('TOKEN must be hex');
    expect(e.message).not.toContain('CANARY');
  });

  it.each([
    ['a newline', 'BUCKET="b1\\nAPP_CIDR=0.0.0.0/0"'],
    ['a carriage return', 'BUCKET="b1\\rx"'],
    ['a tab', "BUCKET='b1\tx'"],
    ['an escape', 'BUCKET=b1\u001b[2J'],
  ])('a value holding %s is refused at config time (exit 3)', (_what, line) => {
    const e = fail([file('inject.env', `${line}\nAPP_CIDR=10.0.1.0/24\n`)]);
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain('inject.env:1: BUCKET holds a line break or another control character');
  });

  it('a secret holding a newline is refused too, without its value', () => {
    const e = fail([file('secret-nl.env', 'BUCKET=b\nAPP_CIDR=10.0.1.0/24\nJWT_SECRET="CANARY\\nEVENTFOLD_DATA=/tmp"\n')]);
    expect(e.message).toContain('JWT_SECRET holds a line break');
    expect(e.message).not.toContain('CANARY');
  });
});
