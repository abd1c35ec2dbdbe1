import { read, write } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import type { Step } from '../engine/types.ts';
import { ensureFile, fileCmds } from '../exec/files.ts';
import type { Executor } from '../exec/types.ts';
import { type BlockDev, LSBLK_COLUMNS, type Probe, parseLsblk, parseProbe, pickDisk } from './block-devices.ts';

export const volumeCmds = {
  lsblk: () => read(['lsblk', '--json', '--paths', '--output', LSBLK_COLUMNS]),
  resolve: (path: string) => read(['readlink', '-e', '--', path], { okCodes: [0, 1] }),
  blkid: (path: string) => read(['blkid', '-p', '-o', 'export', '--', path], { okCodes: [0, 2, 4, 8] }),
  wipefs: (path: string) => read(['wipefs', '--no-act', '--json', '--', path], { okCodes: [0, 1] }),
};

export interface VolumeOptions<C> {
  /** Step ids start with this ("volume" gives volume.format, volume.mount). */
  prefix: string;
  mountPoint: string;
  label: string;
  /** The variable naming the device ("auto" or a /dev path) and its value in the config. */
  deviceVar: string;
  device: (c: C) => string;
}

/** The disk for the volume, checked by the one rule (`refusal`) whoever named it. */
async function disk(exec: Executor, o: { deviceVar: string; mountPoint: string }, wanted: string): Promise<BlockDev> {
  let path = wanted;
  if (wanted !== 'auto') {
    const r = await exec.run(volumeCmds.resolve(wanted));
    if (r.exitCode !== 0) throw new RunbookError('precondition', `${o.deviceVar} ${wanted} does not exist on this host`, { host: exec.host, hint: `attach the volume or correct ${o.deviceVar}, then re-run` });
    path = r.stdout.trim();
  }
  const v = pickDisk(parseLsblk((await exec.run(volumeCmds.lsblk())).stdout), path, o.mountPoint);
  if (typeof v === 'string') throw new RunbookError('precondition', `${v}; refusing to use it for ${o.mountPoint}`, { host: exec.host, hint: `attach an empty block volume (OCI: paravirtualized) or set ${o.deviceVar} to it, then re-run` });
  return v;
}

/** What the device itself holds, read from the disk (not udev's cache); a failed probe throws. */
async function probe(exec: Executor, path: string): Promise<Extract<Probe, { ok: true }>> {
  const p = parseProbe(await exec.run(volumeCmds.blkid(path)), await exec.run(volumeCmds.wipefs(path)));
  if (!p.ok) throw new RunbookError('precondition', `cannot tell what ${path} holds (${p.error}); an unreadable disk is never treated as empty`, { host: exec.host, hint: `look at it: sudo wipefs --no-act ${path}` });
  return p;
}

export const fstabLine = (uuid: string, mountPoint: string) => `UUID=${uuid} ${mountPoint} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2`;

/**
 * A block volume as ext4 mounted by UUID. Only a whole disk with no filesystem signature, no
 * partition table, no partitions, not mounted or in use (swap, LVM, RAID) and not the root disk
 * is ever formatted, whether `auto` found it or the operator named it.
 */
export function volumeSteps<C>(o: VolumeOptions<C>): Step<C>[] {
  const mp = o.mountPoint;
  return [
    {
      id: `${o.prefix}.format`,
      title: 'Data volume has an ext4 filesystem',
      destructive: 'creates a filesystem on the data volume (only ever on a whole disk that holds nothing at all)',
      doc: `Finds the attached block volume (\`${o.deviceVar}=auto\`: the one whole disk that is not the root disk, not mounted, not swap or LVM or RAID, not a RAM or loop device) and runs \`mkfs.ext4\` on it only when \`blkid -p\` and \`wipefs\` find no signature at all on it. A named \`${o.deviceVar}\` passes the same checks. A partition table, any other filesystem, a mount, a partition or a probe that fails is refused, never formatted: its data may be someone's.`,
      async check({ exec, config }) {
        const v = await disk(exec, o, o.device(config));
        const p = await probe(exec, v.path);
        if (p.fstype === 'ext4' && p.signatures.length === 1) return { done: true, reason: `${v.path} holds ext4 (UUID ${p.uuid})` };
        if (p.signatures.length) throw new RunbookError('precondition', `${v.path} holds ${p.signatures.join(', ')}; refusing to format a disk that has data`, { host: exec.host, hint: `attach an empty volume, or set ${o.deviceVar} to the right one` });
        return { done: false, reason: `${v.path} holds nothing (no filesystem, no partition table)` };
      },
      async apply({ exec, config, log }) {
        // Checked again right before writing, on the device itself.
        const v = await disk(exec, o, o.device(config));
        const p = await probe(exec, v.path);
        if (p.signatures.length) throw new RunbookError('precondition', `${v.path} holds ${p.signatures.join(', ')} after all; not formatting`, { host: exec.host });
        log(`mkfs.ext4 ${v.path}`);
        await exec.run(write(['mkfs.ext4', '-q', '-L', o.label, v.path], { timeoutMs: 20 * 60_000 }));
        await exec.run(write(['udevadm', 'settle']));
      },
    },
    {
      id: `${o.prefix}.mount`,
      title: `Data volume mounted at ${mp} by UUID, in /etc/fstab`,
      doc: 'One fstab line by UUID (with `nofail` so a missing volume cannot stop the boot; the service itself refuses to start without the mount), then `mount`.',
      async check({ exec, config }) {
        const v = await disk(exec, o, o.device(config));
        const { uuid } = await probe(exec, v.path);
        const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
        if (!uuid) return { done: false, reason: `${v.path} has no filesystem yet` };
        if (!fstab.split('\n').includes(fstabLine(uuid, mp))) return { done: false, reason: `/etc/fstab has no entry for UUID=${uuid}` };
        const m = await exec.run(read(['findmnt', '--noheadings', '--output', 'SOURCE', '--mountpoint', mp], { okCodes: [0, 1] }));
        if (m.exitCode !== 0) return { done: false, reason: `${mp} is not mounted` };
        return { done: true, reason: `${v.path} (UUID ${uuid}) mounted at ${mp}` };
      },
      async apply({ exec, config }) {
        const v = await disk(exec, o, o.device(config));
        const { uuid: found } = await probe(exec, v.path);
        if (!found && !exec.dryRun) throw new RunbookError('stepFailed', `${v.path} has no filesystem UUID`, { host: exec.host, hint: `run --from ${o.prefix}.format` });
        const uuid = found ?? '<new>';
        const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
        const kept = fstab.split('\n').filter((l) => !(l.trim().split(/\s+/)[1] === mp));
        const content = `${[...kept.filter((l, i) => l || i < kept.length - 1), fstabLine(uuid, mp)].join('\n')}\n`;
        await ensureFile(exec, { path: '/etc/fstab', content, mode: '0644' });
        await exec.run(write(['mkdir', '-p', mp]));
        await exec.run(write(['systemctl', 'daemon-reload']));
        const m = await exec.run(read(['findmnt', '--noheadings', '--mountpoint', mp], { okCodes: [0, 1] }));
        if (m.exitCode !== 0) await exec.run(write(['mount', mp]));
      },
    },
  ];
}
