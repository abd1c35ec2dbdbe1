// The volume guard on a real ARM64 VM with real second disks: a GPT with no partitions, an MBR
// with a partition, a mounted ext4, active swap and the root disk are each refused, named or found
// by `auto`, and not one byte of them changes; the one empty disk is the one `auto` formats.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../../lib/config/schema.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import { SshExecutor, parseSshUrl } from '../../lib/exec/ssh.ts';
import { recorder } from '../../lib/render/tty.ts';
import { parseLsblk, pickDisk } from '../../lib/steps/block-devices.ts';
import { volumeSteps } from '../../lib/steps/volume.ts';
import { bootVm, type Vm } from '../../lib/vm/vm.ts';

// Distinct sizes tell the disks apart whatever names the kernel gives them.
const SIZES = { gpt: 40, mbr: 48, mounted: 56, swap: 64, empty: 72 } as const;
type Kind = keyof typeof SIZES;

/** The first and last 34 sectors of a 40 MiB disk given an empty GPT by sfdisk on this machine. */
function gptImage(): { head: string; tail: string } {
  const f = join(mkdtempSync(join(tmpdir(), 'gpt-')), 'disk.img');
  execFileSync('truncate', ['-s', `${SIZES.gpt}M`, f]);
  execFileSync('sfdisk', ['-q', f], { input: 'label: gpt\n' });
  const b = readFileSync(f);
  return { head: b.subarray(0, 34 * 512).toString('base64'), tail: b.subarray(b.length - 34 * 512).toString('base64') };
}

describe('volume guard on a VM with real disks', () => {
  let vm: Vm;
  const dev = {} as Record<Kind, string>;

  beforeAll(async () => {
    vm = await bootVm({ name: 'volume-guard', userData: '#cloud-config\n{}\n', extraDisks: Object.values(SIZES).map((sizeMiB) => ({ sizeMiB })) });
    await vm.waitForCloudInit();
    const sizes = JSON.parse((await vm.ssh(['lsblk', '--json', '--paths', '--bytes', '--nodeps', '--output', 'PATH,SIZE'])).stdout) as { blockdevices: { path: string; size: number }[] };
    for (const [k, mib] of Object.entries(SIZES) as [Kind, number][]) dev[k] = sizes.blockdevices.find((d) => Number(d.size) === mib * 1048576)?.path ?? '';
    const sh = (script: string, input?: string) => vm.ssh(['sudo', 'sh', '-euc', script], { input, timeoutMs: 120_000 });
    const gpt = gptImage();
    const steps = [
      await sh(`base64 -d | dd of=${dev.gpt} bs=512 conv=notrunc status=none`, gpt.head),
      await sh(`base64 -d | dd of=${dev.gpt} bs=512 seek=$(( ${SIZES.gpt} * 2048 - 34 )) conv=notrunc status=none`, gpt.tail),
      // An MBR with one Linux partition from sector 2048, 8192 sectors long.
      await sh(`printf '\\000\\000\\000\\000\\203\\000\\000\\000\\000\\010\\000\\000\\000\\040\\000\\000' | dd of=${dev.mbr} bs=1 seek=446 conv=notrunc status=none; printf '\\125\\252' | dd of=${dev.mbr} bs=1 seek=510 conv=notrunc status=none; blockdev --rereadpt ${dev.mbr}`),
      await sh(`mkfs.ext4 -q ${dev.mounted} && mkdir -p /srv/other && mount ${dev.mounted} /srv/other`),
      await sh(`mkswap -q ${dev.swap} && swapon ${dev.swap}`),
      await sh('udevadm trigger && udevadm settle'),
    ];
    for (const r of steps) expect(r.exitCode, r.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    await vm?.stop();
  });

  /** The volume steps run over SSH with DATA_DEVICE = device; the run's end event and the host's writes. */
  async function volumeRun(device: string) {
    const exec = new SshExecutor(parseSshUrl(vm.target()), { configFile: vm.sshConfigPath });
    const r = recorder();
    const rb = { name: 'volume', title: 'volume', summary: 'volume', config: defineConfig({}, () => ({ device })), steps: () => volumeSteps<{ device: string }>({ prefix: 'volume', mountPoint: '/data', label: 'data', deviceVar: 'DATA_DEVICE', device: (c) => c.device }) };
    try {
      const res = await runSteps(rb, { exec, config: { device }, emit: r.emit, yes: true });
      const end = r.events.at(-1);
      return { exitCode: res.exitCode, message: end?.type === 'run-end' ? (end.error?.message ?? '') : '' };
    } finally {
      await exec.close();
    }
  }

  const signatures = async () => (await vm.ssh(['sudo', 'sh', '-c', `for d in ${Object.values(dev).join(' ')} /dev/vda; do echo "$d $(wipefs --no-act --noheadings --output TYPE,OFFSET $d | tr '\\n' ' ')"; done`])).stdout;

  it('finds each disk by its size', () => {
    expect(Object.values(dev).every((d) => d.startsWith('/dev/vd'))).toBe(true);
  });

  it('refuses every disk that is not whole, empty and unused, by name; nothing on any disk changes', async () => {
    const before = await signatures();
    const cases: [string, RegExp][] = [
      [dev.gpt, /has a gpt partition table|holds gpt partition table/],
      [dev.mbr, /has partitions or is in use by \/dev\/vd.1 \(part\)/],
      [dev.mounted, /is mounted at \/srv\/other/],
      [dev.swap, /is in use as swap/],
      ['/dev/vda', /is the root disk/],
    ];
    for (const [device, why] of cases) {
      const r = await volumeRun(device);
      expect(r.exitCode, `${device}: ${r.message}`).toBe(4);
      expect(r.message).toMatch(why);
    }
    expect(await signatures()).toBe(before);
  }, 600_000);

  it('lsblk on the VM, parsed: auto passes over all of them and picks the one empty disk', async () => {
    const devs = parseLsblk((await vm.ssh(['lsblk', '--json', '--paths', '--output', 'NAME,PATH,TYPE,FSTYPE,UUID,MOUNTPOINTS,RO,PTTYPE'])).stdout);
    expect(pickDisk(devs, 'auto', '/data')).toMatchObject({ path: dev.empty });
    const r = await volumeRun('auto');
    expect(r.exitCode, r.message).toBe(0);
    expect((await vm.ssh(['findmnt', '--noheadings', '--output', 'SOURCE', '/data'])).stdout.trim()).toBe(dev.empty);
    expect((await volumeRun(dev.empty)).exitCode).toBe(0);
  }, 600_000);
});
