import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { ensureFile, fileCmds } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { DATA, type EventfoldConfig } from './config.ts';

interface BlockDev {
  name: string;
  path: string;
  type: string;
  fstype: string | null;
  uuid: string | null;
  mountpoints: (string | null)[];
  ro: boolean;
  children?: BlockDev[];
}

/** The attached data volume: a whole disk with no partitions, not mounted, not the root disk, not read-only media. */
export function pickVolume(devs: BlockDev[], wanted: string): BlockDev | string {
  const flat = devs.filter((d) => d.type === 'disk');
  if (wanted !== 'auto') return flat.find((d) => d.path === wanted) ?? `DATA_DEVICE ${wanted} is not a disk on this host (disks: ${flat.map((d) => d.path).join(', ')})`;
  const mountedAt = (d: BlockDev): string[] => [...d.mountpoints.filter((m): m is string => Boolean(m)), ...(d.children ?? []).flatMap(mountedAt)];
  const candidates = flat.filter((d) => !d.ro && !d.children?.length && d.fstype !== 'iso9660' && d.fstype !== 'swap' && mountedAt(d).every((m) => m === DATA));
  const root = flat.filter((d) => mountedAt(d).includes('/'));
  const usable = candidates.filter((d) => !root.includes(d));
  if (usable.length === 1) return usable[0] as BlockDev;
  return usable.length === 0 ? 'no attached block volume found (a whole, unpartitioned, unmounted disk)' : `several candidate volumes (${usable.map((d) => d.path).join(', ')}): set DATA_DEVICE`;
}

async function lsblk(exec: Executor): Promise<BlockDev[]> {
  const r = await exec.run(read(['lsblk', '--json', '--paths', '--output', 'NAME,PATH,TYPE,FSTYPE,UUID,MOUNTPOINTS,RO']));
  return (JSON.parse(r.stdout) as { blockdevices: BlockDev[] }).blockdevices;
}

async function volume(exec: Executor, c: EventfoldConfig): Promise<BlockDev> {
  const v = pickVolume(await lsblk(exec), c.device);
  if (typeof v === 'string') throw new RunbookError('precondition', v, { host: exec.host, hint: 'attach the block volume (OCI: paravirtualized) or set DATA_DEVICE, then re-run' });
  return v;
}

export const fstabLine = (uuid: string) => `UUID=${uuid} ${DATA} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2`;

/** Steps mirroring the PRD's "Block Volume": ext4 (only on an empty volume), mounted at /data by UUID. */
export function volumeSteps(): Step<EventfoldConfig>[] {
  return [
    {
      id: 'volume.format',
      title: 'Data volume has an ext4 filesystem',
      destructive: 'creates a filesystem on the data volume (only ever on one that has none)',
      doc: 'Finds the attached block volume and runs `mkfs.ext4` on it only when it holds no filesystem at all. A volume with any filesystem other than ext4 is refused, never reformatted: its data may be someone\'s.',
      async check({ exec, config }) {
        const v = await volume(exec, config);
        if (v.fstype === 'ext4') return { done: true, reason: `${v.path} holds ext4 (UUID ${v.uuid})` };
        if (v.fstype) throw new RunbookError('precondition', `${v.path} holds a ${v.fstype} filesystem; refusing to reformat a volume that has data`, { host: exec.host, hint: 'attach an empty volume, or set DATA_DEVICE to the right one' });
        return { done: false, reason: `${v.path} has no filesystem` };
      },
      async apply({ exec, config, log }) {
        const v = await volume(exec, config);
        // Checked again right before writing: blkid reads the device itself, not a cache.
        const probe = await exec.run(read(['blkid', '-p', '-o', 'value', '-s', 'TYPE', v.path], { okCodes: [0, 2] }));
        if (probe.stdout.trim()) throw new RunbookError('precondition', `${v.path} holds ${probe.stdout.trim()} after all; not formatting`, { host: exec.host });
        log(`mkfs.ext4 ${v.path}`);
        await exec.run(write(['mkfs.ext4', '-q', '-L', 'eventfold-data', v.path], { timeoutMs: 20 * 60_000 }));
        await exec.run(write(['udevadm', 'settle']));
      },
    },
    {
      id: 'volume.mount',
      title: `Data volume mounted at ${DATA} by UUID, in /etc/fstab`,
      doc: 'One fstab line by UUID (with `nofail` so a missing volume cannot stop the boot; the service itself refuses to start without the mount), then `mount`.',
      async check({ exec, config }) {
        const v = await volume(exec, config);
        const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
        if (!v.uuid) return { done: false, reason: `${v.path} has no filesystem yet` };
        if (!fstab.split('\n').includes(fstabLine(v.uuid))) return { done: false, reason: `/etc/fstab has no entry for UUID=${v.uuid}` };
        const m = await exec.run(read(['findmnt', '--noheadings', '--output', 'SOURCE', '--mountpoint', DATA], { okCodes: [0, 1] }));
        if (m.exitCode !== 0) return { done: false, reason: `${DATA} is not mounted` };
        return { done: true, reason: `${v.path} (UUID ${v.uuid}) mounted at ${DATA}` };
      },
      async apply({ exec, config }) {
        const v = await volume(exec, config);
        if (!v.uuid && !exec.dryRun) throw new RunbookError('stepFailed', `${v.path} has no filesystem UUID`, { host: exec.host, hint: 'run --from volume.format' });
        const uuid = v.uuid ?? '<new>';
        const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
        const kept = fstab.split('\n').filter((l) => !(l.trim().split(/\s+/)[1] === DATA));
        const content = `${[...kept.filter((l, i) => l || i < kept.length - 1), fstabLine(uuid)].join('\n')}\n`;
        await ensureFile(exec, { path: '/etc/fstab', content, mode: '0644' });
        await exec.run(write(['mkdir', '-p', DATA]));
        await exec.run(write(['systemctl', 'daemon-reload']));
        const m = await exec.run(read(['findmnt', '--noheadings', '--mountpoint', DATA], { okCodes: [0, 1] }));
        if (m.exitCode !== 0) await exec.run(write(['mount', DATA]));
      },
    },
  ];
}
