import { describe, expect, it } from 'vitest';
import { fileCmds } from '../../lib/exec/files.ts';
import { SshExecutor, parseSshConnection, parseSshUrl } from '../../lib/exec/ssh.ts';
import { lockout, nftCmds } from '../../lib/steps/nftables.ts';
import { lockCmds } from '../../lib/engine/host-state.ts';
import { cidrContains } from '../../lib/core/cidr.ts';
import { fstabHasSwap } from '../../runbooks/base-host/swap.ts';
import { keyBody } from '../../runbooks/base-host/admin-user.ts';
import { read } from '../../lib/core/cmd.ts';

describe('command builders produce exact argv', () => {
  it('file install writes beside the target, then renames', () => {
    const spec = { path: '/etc/x.conf', content: 'a=1\n', mode: '0640', owner: 'root', group: 'adm' };
    expect(fileCmds.install(spec)).toMatchObject({
      argv: ['install', '-D', '-m', '0640', '-o', 'root', '-g', 'adm', '/dev/stdin', '/etc/x.conf.runbook-new'],
      write: true,
      stdin: 'a=1\n',
      file: { path: '/etc/x.conf', secret: false },
    });
    expect(fileCmds.rename(spec).argv).toEqual(['mv', '-f', '--', '/etc/x.conf.runbook-new', '/etc/x.conf']);
    expect(fileCmds.stat('/etc/x').write).toBe(false);
  });

  it('nftables: check on stdin is read-only, load and dead-man are writes', () => {
    expect(nftCmds.checkStdin('table inet t {}')).toMatchObject({ argv: ['nft', '-c', '-f', '/dev/stdin'], write: false, stdin: 'table inet t {}' });
    expect(nftCmds.load()).toMatchObject({ argv: ['nft', '-f', '/etc/nftables.conf'], write: true });
    expect(nftCmds.armDeadman().argv).toEqual(['systemd-run', '--unit=runbook-nft-rollback', '--on-active=120', '--timer-property=AccuracySec=1s', 'nft', '-f', '/var/lib/runbook/nftables.rollback']);
  });

  it('the lock is an atomic mkdir; the audit log is appended through tee -a', () => {
    expect(lockCmds.take().argv).toEqual(['mkdir', '-m', '0700', '/var/lib/runbook/run.lock']);
    expect(lockCmds.audit('{"a":1}')).toMatchObject({ argv: ['tee', '-a', '/var/log/runbook/audit.jsonl'], stdin: '{"a":1}\n', write: true });
  });

  it('ssh: host-key checking on, one control master, argv quoted once with a remote timeout', async () => {
    const ex = new SshExecutor(parseSshUrl('ssh://ops@[2001:db8::1]:2200'), { configFile: '/tmp/cfg' });
    const args = ex.sshArgs();
    expect(args.slice(0, 6)).toEqual(['-F', '/tmp/cfg', '-p', '2200', '-l', 'ops']);
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args).toContain('BatchMode=yes');
    expect(args.slice(-2)).toEqual(['--', '2001:db8::1']);
    expect(ex.remoteCommand(read(['cat', '/etc/my file'], { timeoutMs: 5000 }))).toBe("sudo -n -- timeout -k 5 5 cat '/etc/my file'");
    await ex.close();
  });

  it('root needs no sudo', async () => {
    const ex = new SshExecutor(parseSshUrl('ssh://root@h'));
    expect(ex.remoteCommand(read(['true'], { timeoutMs: 1000 }))).toBe('timeout -k 5 1 true');
    await ex.close();
  });

  it('parseSshUrl rejects what is not ssh://user@host[:port]', () => {
    expect(parseSshUrl('ssh://a@b')).toEqual({ user: 'a', host: 'b', port: 22 });
    expect(() => parseSshUrl('ssh://a@b:99999')).toThrow(/port/);
    expect(() => parseSshUrl('http://b')).toThrow(/not ssh:/);
  });
});

describe('fact parsers', () => {
  it('parseSshConnection reads $SSH_CONNECTION; lockout checks this connection, address and port', () => {
    const conn = parseSshConnection('10.0.2.2 40222 10.0.2.15 22\n');
    expect(conn).toEqual({ clientAddr: '10.0.2.2', clientPort: 40222, serverAddr: '10.0.2.15', serverPort: 22 });
    expect(parseSshConnection('2001:db8::2 5000 2001:db8::1 2222')).toMatchObject({ clientAddr: '2001:db8::2', serverPort: 2222 });
    expect(parseSshConnection('')).toBeNull();
    expect(parseSshConnection('x y z w')).toBeNull();
    expect(lockout(conn, 22, ['10.0.2.0/24'])).toBeNull();
    expect(lockout(conn, 22, ['192.0.2.0/24'])).toMatch(/only from 192.0.2.0\/24, but this run connects from 10.0.2.2/);
    // Another admitted session on SSH_PORT does not make this one safe: the port this run uses counts.
    expect(lockout(conn, 2222, ['10.0.2.0/24'])).toMatch(/connected to port 22, but the new rules admit SSH only on port 2222/);
    expect(lockout(null, 22, ['0.0.0.0/0'])).toMatch(/cannot tell/);
    expect(lockout(parseSshConnection('::ffff:10.0.2.2 1 ::ffff:10.0.2.15 22'), 22, ['10.0.2.2/32'])).toBeNull();
  });

  it('cidrContains', () => {
    expect(cidrContains('10.0.2.0/24', '10.0.2.2')).toBe(true);
    expect(cidrContains('10.0.2.2/32', '10.0.2.3')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '192.0.2.1')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(cidrContains('2001:db8::/32', '10.0.0.1')).toBe(false);
  });

  it('fstabHasSwap accepts cloud-init and runbook lines, not comments', () => {
    expect(fstabHasSwap('/swapfile none swap sw,comment=cloudconfig 0 0\n')).toBe(true);
    expect(fstabHasSwap('/swapfile none swap sw 0 0')).toBe(true);
    expect(fstabHasSwap('# /swapfile none swap sw 0 0')).toBe(false);
    expect(fstabHasSwap('/swapfile2 none swap sw 0 0')).toBe(false);
  });

  it('keyBody ignores options and comments', () => {
    expect(keyBody('no-pty ssh-ed25519 AAAAB3 me@x')).toBe('ssh-ed25519 AAAAB3');
    expect(keyBody('ssh-ed25519 AAAAB3')).toBe('ssh-ed25519 AAAAB3');
    expect(keyBody('# comment')).toBe('');
  });
});
