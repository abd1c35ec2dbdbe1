import { describe, expect, it } from 'vitest';
import { checks, loadConfig } from '../../lib/config/schema.ts';
import { coveredFamilies, parseCidr } from '../../lib/core/cidr.ts';
import { baseHostConfig } from '../../runbooks/base-host/index.ts';
import { runbookErrorOf } from './fakes.ts';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('CIDRs are validated completely at config time', () => {
  it.each(['10.0.1.0/24', '0.0.0.0/0', '10.0.2.2/32', '2001:db8::/32', '::/0', 'fe80::/10', '::ffff:10.0.0.0/104', '2001:db8:0:1::/64'])('accepts %s', (c) => {
    expect(parseCidr(c)).toMatchObject({ bits: Number(c.split('/')[1]) });
  });

  it.each([
    ['2001:db8:::1/64', 'invalid address'],
    ['2001:db8::g/64', 'invalid address'],
    ['1:2:3:4:5:6:7:8:9/64', 'invalid address'],
    ['2001:db8::/129', 'prefix length outside 0-128'],
    ['10.0.0.0/33', 'prefix length outside 0-32'],
    ['10.0.0.256/32', 'invalid address'],
    ['010.0.0.0/8', 'invalid address'],
    ['10.0.1.5/24', 'host bits set (the network is 10.0.1.0/24)'],
    ['2001:db8::1/32', 'host bits set (the network is 2001:db8::/32)'],
    ['10.0.0.0', 'not ADDRESS/PREFIX'],
    ['10.0.0.0/', 'not ADDRESS/PREFIX'],
  ])('refuses %s (%s)', (c, why) => {
    expect(parseCidr(c)).toContain(why);
    expect(checks.cidrList(`10.0.0.0/8 ${c}`)).toContain(why);
  });

  it('tells when a list covers a whole family, whole or in pieces', () => {
    expect(coveredFamilies(['0.0.0.0/0'])).toEqual([4]);
    expect(coveredFamilies(['::/0'])).toEqual([6]);
    expect(coveredFamilies(['0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1'])).toEqual([4, 6]);
    expect(coveredFamilies(['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/1'])).toEqual([4]);
    expect(coveredFamilies(['0.0.0.0/1', '192.0.0.0/2'])).toEqual([]);
    expect(coveredFamilies(['10.0.0.0/8', '198.51.100.0/24'])).toEqual([]);
  });

  const env = (cidrs: string, extra = '') => {
    const p = join(mkdtempSync(join(tmpdir(), 'cidr-')), 'b.env');
    writeFileSync(p, `ADMIN_SSH_KEYS="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample x@y"\nOPERATOR_CIDRS="${cidrs}"\n${extra}`);
    chmodSync(p, 0o600);
    return p;
  };
  it('base-host refuses SSH from everywhere unless SSH_FROM_ANYWHERE=yes (exit 3)', () => {
    for (const c of ['0.0.0.0/0', '::/0', '0.0.0.0/1 128.0.0.0/1', '10.0.0.0/8 ::/1 8000::/1']) {
      const e = runbookErrorOf(() => loadConfig(baseHostConfig, [env(c)]));
      expect(e.exitCode).toBe(3);
      expect(e.message).toMatch(/admits SSH from every IPv/);
      expect(e.hint).toContain('SSH_FROM_ANYWHERE=yes');
    }
    expect(loadConfig(baseHostConfig, [env('0.0.0.0/0', 'SSH_FROM_ANYWHERE=yes\n')]).operatorCidrs).toEqual(['0.0.0.0/0']);
    expect(runbookErrorOf(() => loadConfig(baseHostConfig, [env('2001:db8:::1/64')])).exitCode).toBe(3);
  });
});
