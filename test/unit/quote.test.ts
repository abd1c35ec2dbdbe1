import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shJoin, shQuote } from '../../lib/core/quote.ts';
import { SshExecutor, parseSshUrl } from '../../lib/exec/ssh.ts';
import { write } from '../../lib/core/cmd.ts';

const HOSTILE = [
  '',
  ' ',
  "it's",
  "''",
  '"double"',
  '$(touch /tmp/pwned)',
  '`id`',
  '$HOME',
  'a;b|c&d',
  'new\nline',
  'tab\there',
  'back\\slash\\',
  '*',
  '~',
  '-n',
  '--',
  '!event',
  'ünïcödé ✓',
  '{a,b}',
  "end'",
];

/** Runs argv through a real sh the way the remote login shell receives it. */
const viaSh = (argv: string[]) => execFileSync('sh', ['-c', `printf '%s\\0' ${shJoin(argv)}`]).toString().split('\0').slice(0, -1);

describe('shQuote', () => {
  it.each(HOSTILE)('survives a round trip through sh: %j', (s) => {
    expect(viaSh([s])).toEqual([s]);
  });

  it('keeps every element separate, in order', () => {
    expect(viaSh(HOSTILE)).toEqual(HOSTILE);
  });

  it('leaves safe words readable', () => {
    expect(shQuote('/etc/nftables.conf')).toBe('/etc/nftables.conf');
    expect(shQuote('a b')).toBe("'a b'");
  });

  it('the SSH remote command (sudo + timeout + argv) round-trips through sh', () => {
    const ex = new SshExecutor(parseSshUrl('ssh://admin@127.0.0.1:2222'));
    const remote = ex.remoteCommand(write(['printf', '%s\\0', ...HOSTILE], { timeoutMs: 30_000 }));
    const out = execFileSync('sh', ['-c', remote.replace(/^sudo -n -- /, '')]).toString().split('\0').slice(0, -1);
    expect(out).toEqual(HOSTILE);
    void ex.close();
  });
});
