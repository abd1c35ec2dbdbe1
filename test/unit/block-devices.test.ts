import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BlockDev, parseLsblk, parseProbe, pickDisk, refusal } from '../../lib/steps/block-devices.ts';

const fx = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/block', name), 'utf8');
const ok = (stdout: string, exitCode = 0) => ({ exitCode, stdout, stderr: '' });
const disk = (path: string, more: Partial<BlockDev> = {}): BlockDev => ({ name: path, path, type: 'disk', fstype: null, uuid: null, mountpoints: [null], ro: false, pttype: null, ...more });

describe('block device facts (captured lsblk, blkid, wipefs output)', () => {
  it('auto never takes a zram swap device or the root disk', () => {
    const devs = parseLsblk(fx('lsblk-zram-and-root.json'));
    expect(devs.map((d) => d.path)).toEqual(['/dev/zram0', '/dev/vda']);
    expect(pickDisk(devs, 'auto', '/data')).toMatch(/^no attached block volume found/);
    expect(pickDisk(devs, '/dev/vda', '/data')).toBe('/dev/vda is the root disk');
    expect(pickDisk(devs, '/dev/zram0', '/data')).toBe('/dev/zram0 is a RAM or loop device');
  });

  it('a disk with partitions is refused, and so is a partition named directly', () => {
    const devs = parseLsblk(fx('lsblk-loop-partitioned.json'));
    const withType = devs.map((d) => ({ ...d, type: 'disk', name: '/dev/vdb', path: '/dev/vdb' }));
    expect(pickDisk(withType, '/dev/vdb', '/data')).toBe('/dev/vdb has partitions or is in use by /dev/loop0p1 (part)');
    expect(pickDisk(devs, '/dev/loop0p1', '/data')).toBe('/dev/loop0p1 is a part, not a whole disk');
    expect(pickDisk(devs, '/dev/sdz', '/data')).toMatch(/DATA_DEVICE \/dev\/sdz is not a disk on this host/);
  });

  it('an empty disk passes; mounted, swap, a partition table, a foreign filesystem or read-only do not', () => {
    expect(refusal(disk('/dev/vdb'), '/data')).toBeNull();
    expect(refusal(disk('/dev/vdb', { fstype: 'ext4', mountpoints: ['/data'] }), '/data')).toBeNull();
    expect(refusal(disk('/dev/vdb', { fstype: 'ext4', mountpoints: ['/srv'] }), '/data')).toBe('/dev/vdb is mounted at /srv');
    expect(refusal(disk('/dev/vdb', { fstype: 'swap', mountpoints: ['[SWAP]'] }), '/data')).toBe('/dev/vdb is in use as swap');
    expect(refusal(disk('/dev/vdb', { pttype: 'gpt' }), '/data')).toBe('/dev/vdb has a gpt partition table');
    expect(refusal(disk('/dev/vdb', { fstype: 'LVM2_member', children: [disk('/dev/mapper/vg-data', { type: 'lvm', mountpoints: ['/srv'] })] }), '/data')).toBe('/dev/vdb has partitions or is in use by /dev/mapper/vg-data (lvm at /srv)');
    expect(refusal(disk('/dev/vdb', { fstype: 'xfs' }), '/data')).toBe('/dev/vdb holds xfs');
    expect(refusal(disk('/dev/vdb', { ro: true }), '/data')).toBe('/dev/vdb is read-only');
    expect(refusal(disk('/dev/vdb', { children: [disk('/dev/vdb1', { type: 'part', mountpoints: ['/'] })] }), '/data')).toBe('/dev/vdb is the root disk');
  });

  it('auto picks the one empty disk, names why others were passed over, and asks when there are two', () => {
    const root = disk('/dev/vda', { fstype: 'ext4', mountpoints: ['/'] });
    const seed = disk('/dev/vdc', { fstype: 'iso9660', ro: true });
    expect(pickDisk([root, disk('/dev/vdb'), seed, disk('/dev/zram0')], 'auto', '/data')).toMatchObject({ path: '/dev/vdb' });
    expect(pickDisk([root, disk('/dev/vdb', { pttype: 'dos' })], 'auto', '/data')).toBe('no attached block volume found (a whole, unpartitioned, unmounted disk); not usable: /dev/vdb has a dos partition table');
    expect(pickDisk([root, disk('/dev/vdb'), disk('/dev/vdd')], 'auto', '/data')).toMatch(/several candidate volumes \(\/dev\/vdb, \/dev\/vdd\)/);
  });

  it('the device probe: empty only when both blkid and wipefs find nothing; a failed probe is not empty', () => {
    expect(parseProbe(ok('', 2), ok(fx('wipefs-empty.json')))).toEqual({ ok: true, signatures: [], fstype: null, uuid: null });
    expect(parseProbe(ok(fx('blkid-gpt.txt')), ok(fx('wipefs-empty.json')))).toMatchObject({ ok: true, signatures: ['gpt partition table'] });
    expect(parseProbe(ok(fx('blkid-swap-over-gpt.txt')), ok(fx('wipefs-swap-gpt.json')))).toMatchObject({ ok: true, signatures: ['swap', 'gpt partition table', 'gpt', 'PMBR'] });
    expect(parseProbe(ok('', 2), ok(fx('wipefs-swap-gpt.json')))).toMatchObject({ ok: true, signatures: ['swap', 'gpt', 'PMBR'] });
    expect(parseProbe(ok(fx('blkid-ext4.txt')), ok(fx('wipefs-empty.json')))).toMatchObject({ ok: true, fstype: 'ext4', uuid: '8662933e-01fc-4974-9945-9f5a32398023', signatures: ['ext4'] });
    expect(parseProbe({ exitCode: 4, stdout: '', stderr: 'bad usage' }, ok(fx('wipefs-empty.json')))).toEqual({ ok: false, error: 'blkid exited 4: bad usage' });
    expect(parseProbe({ exitCode: 8, stdout: '', stderr: '' }, ok(fx('wipefs-empty.json')))).toMatchObject({ ok: false });
    expect(parseProbe(ok('', 2), { exitCode: 1, stdout: '', stderr: 'wipefs: error: /dev/vdb: probing initialization failed: No such file or directory' })).toMatchObject({ ok: false, error: expect.stringContaining('probing initialization failed') });
    expect(parseProbe(ok('', 2), ok('garbage'))).toMatchObject({ ok: false });
  });
});
