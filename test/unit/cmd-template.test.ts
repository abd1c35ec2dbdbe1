// The command template: a runbook step written as its seed's shell line still yields the same
// command data (argv) as the array form, so dry-run, redaction, SSH quoting and the audit see
// nothing new; values stay one argument each through a real POSIX sh; secrets are refused.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeCmd, read, write } from '../../lib/core/cmd.ts';
import { shJoin } from '../../lib/core/quote.ts';
import { Secret } from '../../lib/core/secret.ts';

describe('read`...` and write`...`', () => {
  it('yield the same command data as the argv form', () => {
    const unit = 'eventfold-backup.timer';
    expect(write`systemctl enable --now ${unit}`).toEqual(write(['systemctl', 'enable', '--now', unit]));
    expect(read({ okCodes: [0, 1] })`systemctl is-enabled ${unit}`).toEqual(read(['systemctl', 'is-enabled', unit], { okCodes: [0, 1] }));
    expect(describeCmd(write`install -d -o eventfold -m 0700 ${'/var/lib/x y'}`)).toBe("install -d -o eventfold -m 0700 '/var/lib/x y'");
  });

  it('keep each value one argument, glued to the text it touches, through a real sh (dash on the hosts)', () => {
    const nasty = ["it's", '$(touch /tmp/pwned)', 'a b', '`id`', '', '; rm -rf /', 'new\nline'];
    for (const v of nasty) {
      const c = read`printf %s --name=${v} ${v}`;
      expect(c.argv).toEqual(['printf', '%s', `--name=${v}`, v]);
      const out = execFileSync('sh', ['-c', shJoin(['printf', '[%s]', ...c.argv.slice(2)])], { encoding: 'utf8' });
      expect(out).toBe(`[--name=${v}][${v}]`);
    }
    expect(read`ls ${['-l', 'a b']} /tmp`.argv).toEqual(['ls', '-l', 'a b', '/tmp']);
    expect(read`sleep ${5}`.argv).toEqual(['sleep', '5']);
  });

  it('refuse a Secret, shell syntax that no shell would interpret, and a list glued to text', () => {
    const s = new Secret('EVENTFOLD_JWT_SECRET', 'jwt-secret-value-123456');
    // The types refuse a Secret already; this is the run-time guard for untyped callers.
    expect(() => write`curl -H ${s as unknown as string}`).toThrow(/a Secret cannot go into a command line/);
    expect(() => write`curl ${[s as unknown as string]}`).toThrow(/a Secret cannot go into a command line/);
    expect(() => read`journalctl -u x | tail`).toThrow(/"\|" .* is shell syntax/);
    expect(() => write`echo hi > /etc/motd`).toThrow(/shell syntax/);
    expect(() => read`ls --x=${['a', 'b']}`).toThrow(/a list must stand alone/);
  });
});
