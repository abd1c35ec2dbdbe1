// Facts about block devices, parsed from lsblk, blkid and wipefs output (pure, tested on captured
// output), and the one rule for which disk may become a data volume: formatting the wrong disk
// loses someone's data, so every doubt refuses.

export interface BlockDev {
  name: string;
  path: string;
  type: string;
  fstype: string | null;
  uuid: string | null;
  mountpoints: (string | null)[];
  ro: boolean;
  pttype?: string | null;
  children?: BlockDev[];
}

export const LSBLK_COLUMNS = 'NAME,PATH,TYPE,FSTYPE,UUID,MOUNTPOINTS,RO,PTTYPE';

/** `lsblk --json --paths --output LSBLK_COLUMNS`. */
export function parseLsblk(stdout: string): BlockDev[] {
  const j = JSON.parse(stdout) as { blockdevices?: BlockDev[] };
  if (!Array.isArray(j.blockdevices)) throw new Error('lsblk printed no blockdevices');
  return j.blockdevices;
}

/**
 * What a probe of the device itself found: `blkid -p -o export` (exit 0: found, 2: nothing) and
 * `wipefs --no-act --json` (every signature, the backup GPT at the end of the disk too). Any
 * other exit, or output that does not parse, is an error: an unreadable disk is not an empty one.
 */
export type Probe = { ok: true; signatures: string[]; fstype: string | null; uuid: string | null } | { ok: false; error: string };

export function parseProbe(blkid: { exitCode: number; stdout: string; stderr: string }, wipefs: { exitCode: number; stdout: string; stderr: string }): Probe {
  if (blkid.exitCode !== 0 && blkid.exitCode !== 2) return { ok: false, error: `blkid exited ${blkid.exitCode}${blkid.stderr.trim() ? `: ${blkid.stderr.trim()}` : ''}` };
  if (wipefs.exitCode !== 0) return { ok: false, error: `wipefs exited ${wipefs.exitCode}${wipefs.stderr.trim() ? `: ${wipefs.stderr.trim()}` : ''}` };
  const kv = new Map(blkid.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]).filter((p) => p.length === 2));
  let sigs: { type?: string }[];
  try {
    sigs = wipefs.stdout.trim() ? ((JSON.parse(wipefs.stdout) as { signatures?: { type?: string }[] }).signatures ?? []) : [];
  } catch {
    return { ok: false, error: 'wipefs printed something that is not JSON' };
  }
  const signatures = [...new Set([kv.get('TYPE'), kv.get('PTTYPE') && `${kv.get('PTTYPE')} partition table`, ...sigs.map((s) => s.type)].filter((s): s is string => Boolean(s)))];
  return { ok: true, signatures, fstype: kv.get('TYPE') ?? null, uuid: kv.get('UUID') ?? null };
}

const mounts = (d: BlockDev): string[] => [...d.mountpoints.filter((m): m is string => Boolean(m)), ...(d.children ?? []).flatMap(mounts)];
const isRamDisk = (d: BlockDev) => d.type === 'loop' || /^\/dev\/(zram|ram|loop)\d/.test(d.path);

/** Why this disk may not hold the data volume mounted at `mountPoint`, or null when it may. */
export function refusal(d: BlockDev, mountPoint: string): string | null {
  if (d.type !== 'disk') return `${d.path} is a ${d.type}, not a whole disk`;
  if (mounts(d).includes('/')) return `${d.path} is the root disk`;
  if (d.ro) return `${d.path} is read-only`;
  if (isRamDisk(d)) return `${d.path} is a RAM or loop device`;
  if (d.children?.length) return `${d.path} has partitions or is in use by ${d.children.map((c) => `${c.path} (${c.type}${c.fstype ? ` ${c.fstype}` : ''}${mounts(c).length ? ` at ${mounts(c).join(', ')}` : ''})`).join(', ')}`;
  const elsewhere = mounts(d).filter((m) => m !== mountPoint);
  if (elsewhere.includes('[SWAP]')) return `${d.path} is in use as swap`;
  if (elsewhere.length) return `${d.path} is mounted at ${elsewhere.join(', ')}`;
  if (d.pttype) return `${d.path} has a ${d.pttype} partition table`;
  if (d.fstype && d.fstype !== 'ext4') return `${d.path} holds ${d.fstype}`;
  return null;
}

/**
 * The disk for the data volume: the one named (after the host resolved symlinks such as
 * /dev/oracleoci/oraclevdb), or with `auto` the only candidate. Named or found, it must pass
 * `refusal`; returns the disk or why none can be used.
 */
export function pickDisk(devs: BlockDev[], wanted: string, mountPoint: string): BlockDev | string {
  const disks = devs.filter((d) => d.type === 'disk' || d.type === 'loop' || d.type === 'rom');
  if (wanted !== 'auto') {
    const d = devs.find((x) => x.path === wanted) ?? devs.flatMap((x) => x.children ?? []).find((x) => x.path === wanted);
    if (!d) return `DATA_DEVICE ${wanted} is not a disk on this host (disks: ${disks.map((x) => x.path).join(', ') || 'none'})`;
    return refusal(d, mountPoint) ?? d;
  }
  // RAM disks, read-only media (the cloud-init seed) and the root disk are never candidates.
  const considered = disks.filter((d) => d.type === 'disk' && !isRamDisk(d) && !d.ro && d.fstype !== 'iso9660' && !mounts(d).includes('/'));
  const usable = considered.filter((d) => refusal(d, mountPoint) === null);
  if (usable.length === 1) return usable[0] as BlockDev;
  if (usable.length > 1) return `several candidate volumes (${usable.map((d) => d.path).join(', ')}): set DATA_DEVICE`;
  const why = considered.map((d) => refusal(d, mountPoint)).filter(Boolean);
  return `no attached block volume found (a whole, unpartitioned, unmounted disk)${why.length ? `; not usable: ${why.join('; ')}` : ''}`;
}
