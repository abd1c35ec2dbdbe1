// The qemu command line of a VM, shared by cold boots (vm.ts) and snapshot restores
// (snapshot.ts): a snapshot and its restores must have the same devices, and differ only in their
// host ports, their link socket and -incoming.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { LINK_IFNAME } from './link-nic.ts';
import type { Vm, VmOptions } from './vm.ts';

/** The parts of a VM's qemu command line. */
export interface Machine {
  kernel: string;
  initrd: string;
  cpus: number;
  memoryMiB: number;
  root: string;
  disks: string[];
  seed: string;
  /**
   * The second NIC, on every VM with a link and on every snapshot (so that its restores can join
   * one): `bootMac` is the MAC the kernel command line names link0, `mac` the device's own,
   * `socket` the link hub (none: a NIC with no cable).
   */
  link?: { bootMac: string; mac: string; socket?: string };
}

/** qemu-system-aarch64 arguments for `m` with the VM's ports, its QMP socket and optionally -incoming. */
export function qemuArgs(vm: Vm, m: Machine, incoming?: string): string[] {
  const fwds = [
    `hostfwd=tcp:127.0.0.1:${vm.sshPort}-:22`,
    ...Object.entries(vm.hostPorts).map(([g, h]) => `hostfwd=tcp:127.0.0.1:${h}-:${g}`),
    ...vm.udpPorts.map((g) => `hostfwd=udp:127.0.0.1:${vm.hostPorts[g]}-:${g}`),
  ];
  const append = `root=/dev/vda rw console=ttyAMA0 net.ifnames=0 quiet${m.link ? ` ifname=${LINK_IFNAME}:${m.link.bootMac}` : ''}`;
  const linkNet = m.link?.socket ? `stream,id=l0,server=off,addr.type=unix,addr.path=${m.link.socket}` : 'hubport,id=l0,hubid=77';
  return [
    '-M', 'virt', '-cpu', process.env.RUNBOOK_VM_CPU ?? 'cortex-a72', '-smp', String(m.cpus), '-m', String(m.memoryMiB),
    '-display', 'none', '-monitor', 'none', '-serial', `file:${join(vm.dir, 'console.log')}`,
    '-qmp', `unix:${vm.qmpPath},server=on,wait=off`,
    '-kernel', m.kernel, '-initrd', m.initrd,
    '-append', append,
    '-drive', `file=${m.root},if=virtio,format=qcow2,cache=unsafe`,
    ...m.disks.flatMap((d) => ['-drive', `file=${d},if=virtio,format=qcow2,cache=writeback`]),
    '-drive', `file=${m.seed},if=virtio,format=raw,readonly=on`,
    // restrict=on: the guest can reach nothing; only the 127.0.0.1 forwards reach the guest.
    '-netdev', `user,id=n0,restrict=on,${fwds.join(',')}`,
    '-device', 'virtio-net-pci,netdev=n0,romfile=',
    ...(m.link ? ['-netdev', linkNet, '-device', `virtio-net-pci,netdev=l0,mac=${m.link.mac},romfile=`] : []),
    '-device', 'virtio-rng-pci',
    '-pidfile', join(vm.dir, 'qemu.pid'),
    ...(incoming ? ['-incoming', incoming] : []),
  ];
}

/** Writes known_hosts (pinning `hostPub` at the VM's SSH port) and ssh_config. */
export function writeSshFiles(vm: Vm, hostPub: string): void {
  writeFileSync(vm.knownHostsPath, `[127.0.0.1]:${vm.sshPort} ${hostPub.trim().split(' ').slice(0, 2).join(' ')}\n`);
  writeFileSync(
    vm.sshConfigPath,
    [
      'Host 127.0.0.1',
      `  IdentityFile ${vm.keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${vm.knownHostsPath}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  ConnectTimeout 15',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
}

/**
 * Picks free 127.0.0.1 ports, writes the ssh files and starts qemu; tries new ports
 * when one was taken between the pick and qemu's bind. Kills the VM and throws otherwise.
 */
export async function launch(vm: Vm, hostPub: string, forwards: VmOptions['forwards'], args: () => string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    vm.sshPort = await freePort();
    for (const f of forwards ?? []) vm.hostPorts[typeof f === 'number' ? f : f.guestPort] = await freePort();
    vm.udpPorts.splice(0, vm.udpPorts.length, ...(forwards ?? []).flatMap((f) => (typeof f === 'object' && f.udp ? [f.guestPort] : [])));
    writeSshFiles(vm, hostPub);
    const a = args();
    writeFileSync(join(vm.dir, 'qemu.args'), `${a.join('\n')}\n`);
    writeFileSync(join(vm.dir, 'qemu.err'), '');
    if (await vm.start(a)) return;
    const why = vm.qemuErrors();
    if (/host forwarding rule|Address already in use/i.test(why) && attempt < 4) continue;
    await vm.kill();
    throw new Error(`qemu-system-aarch64 exited at start (vm ${vm.name}): ${why}`);
  }
}

