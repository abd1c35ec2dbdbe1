import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret, redact } from '../../lib/core/secret.ts';
import { write } from '../../lib/core/cmd.ts';
import { jsonRenderer, ttyRenderer } from '../../lib/render/tty.ts';
import { LocalExecutor } from '../../lib/exec/local.ts';

const VALUE = 'hunter2-very-secret-value';

describe('Secret', () => {
  const s = new Secret('DB_PASSWORD', VALUE);

  it('never prints its value', () => {
    for (const text of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } })]) {
      expect(text).not.toContain(VALUE);
      expect(text).toContain('DB_PASSWORD');
    }
    expect(s.reveal()).toBe(VALUE);
  });

  it('is redacted from errors, hints and free text', () => {
    const e = new RunbookError('stepFailed', `psql said: password ${VALUE} rejected`, { hint: `try ${VALUE}` });
    expect(e.message).not.toContain(VALUE);
    expect(e.describe()).not.toContain(VALUE);
    expect(redact(`x ${VALUE} y`)).toBe('x [redacted] y');
  });

  it('is redacted by the terminal and JSON renderers', () => {
    let out = '';
    const sink = { write: (t: string) => void (out += t) };
    ttyRenderer(sink)({ type: 'log', id: 'a', message: `connecting with ${VALUE}` });
    jsonRenderer(sink)({ type: 'write-planned', id: 'a', command: `echo ${VALUE}` });
    expect(out).not.toContain(VALUE);
    expect(out).toContain('[redacted]');
  });

  it('reaches a process only through stdin, never argv', async () => {
    const ex = new LocalExecutor({ sudo: false });
    const r = await ex.run(write(['sh', '-c', 'cat; printf "|%s" "$*"', 'sh', 'arg'], { stdin: s }));
    expect(r.stdout).toBe(`${VALUE}|arg`);
  });

  it('a failing command with the secret in its stderr does not leak it', async () => {
    const ex = new LocalExecutor({ sudo: false });
    const err = await ex.run(write(['sh', '-c', 'cat >&2; exit 3'], { stdin: s })).catch((e: unknown) => e as RunbookError);
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).message).toContain('exited 3');
    expect((err as RunbookError).message).not.toContain(VALUE);
  });
});
