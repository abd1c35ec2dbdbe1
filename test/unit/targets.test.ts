import { describe, expect, it } from 'vitest';
import { executorFor } from '../../lib/cli/targets.ts';
import { EXIT } from '../../lib/core/errors.ts';
import { parseSshUrl } from '../../lib/exec/ssh.ts';
import { runbookErrorOf } from './fakes.ts';

describe('targets', () => {
  it('takes plain users, DNS names, IPv4 and bracketed IPv6', () => {
    expect(parseSshUrl('ssh://ops.admin@db-1.example.internal:2222')).toEqual({ user: 'ops.admin', host: 'db-1.example.internal', port: 2222 });
    expect(parseSshUrl('ssh://admin@203.0.113.10')).toEqual({ user: 'admin', host: '203.0.113.10', port: 22 });
    expect(parseSshUrl('ssh://admin@[2001:db8::1]:22/')).toEqual({ user: 'admin', host: '2001:db8::1', port: 22 });
  });

  const bad = [
    'ssh://admin@-oProxyCommand=touch_x',
    'ssh://-oProxyCommand=x@host',
    'ssh://admin@host;reboot',
    'ssh://admin@$(reboot)',
    'ssh://admin@host`id`',
    'ssh://admin@host name',
    'ssh://ad min@host',
    'ssh://admin@host\nother',
    'ssh://admin@[not-v6]',
    'ssh://admin@host:22;x',
    'ssh://admin@host|cat',
    'ssh://admin@',
    'ssh://a"b@host',
  ];
  it.each(bad)('refuses %j as a usage error (exit 2), before any connection', (t) => {
    const e = runbookErrorOf(() => executorFor(t));
    expect(e.exitCode).toBe(EXIT.usage);
    expect(e.message).toContain(JSON.stringify(t));
  });

  it('an unknown scheme is a usage error', () => {
    expect(runbookErrorOf(() => executorFor('admin@host')).exitCode).toBe(EXIT.usage);
  });
});
