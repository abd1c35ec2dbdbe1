import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// Type checking and lint run as tests, so `npm test` (and CI) fails on a floating promise or a
// type error, not only a reviewer.
const root = new URL('../..', import.meta.url).pathname;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const run = (name: string, args: string[]) => execa(bin(name), args, { cwd: root, reject: false, timeout: 240_000 });

describe('static checks', () => {
  it('tsc --noEmit finds no type error', async () => {
    const r = await run('tsc', ['--noEmit', '-p', 'tsconfig.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  }, 240_000);

  it('eslint passes, and fails a fixture with a promise nobody awaits', async () => {
    const clean = await run('eslint', ['--max-warnings', '0', '.']);
    expect(clean.stdout + clean.stderr).toBe('');
    expect(clean.exitCode).toBe(0);
    const bad = await run('eslint', ['--no-ignore', 'test/fixtures/lint/floating.ts']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/5:3 +error +Promises must be awaited.*no-floating-promises/);
  }, 240_000);
});
