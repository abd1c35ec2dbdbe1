// `--target vm[:NAME]`: a local ARM64 VM booted from the project's cached image, kept running
// after the run (recorded in the cache) so the next run, and the operator, reuse it. It has one
// blank extra disk standing for a block volume (/dev/vdb) and the OCI CLI stand-in, so every
// runbook can be tried on it with nothing at risk.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { shQuote } from '../core/quote.ts';
import { RunbookError } from '../core/errors.ts';
import { type KeptRecord, type Vm, type VmHome, Vm as VmClass, bootVm, projectRoot } from './vm.ts';

export const DEFAULT_VM_NAME = 'try';

export const throwawayHome = (): VmHome => ({ dir: join(process.env.RUNBOOK_CACHE_DIR ?? join(homedir(), '.cache/oci-arm-runbooks'), 'vms'), keep: true });

/** `vm` -> "try", `vm:NAME` -> NAME; undefined when the target is not a VM. */
export function vmTargetName(target: string): string | undefined {
  if (target === 'vm') return DEFAULT_VM_NAME;
  if (!target.startsWith('vm:')) return undefined;
  const name = target.slice(3);
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new RunbookError('usage', `VM name "${name}" must be 1-31 lower-case letters, digits or dashes`, { hint: `--target vm:${DEFAULT_VM_NAME}` });
  return name;
}

/** Boots the named VM, or reuses it while it runs; resolves when cloud-init is done. */
export async function throwawayVm(name: string, log: (s: string) => void): Promise<Vm> {
  const { ociStandinVendorData } = await import('./oci-standin-vendor-data.ts');
  const t0 = Date.now();
  log(`vm ${name}: booting (or reusing) a local ARM64 VM from the cached image; the first time, the image is built (progress below)`);
  const vm = await bootVm({
    name,
    home: throwawayHome(),
    userData: '#cloud-config\n{}\n',
    vendorData: ociStandinVendorData(projectRoot()),
    extraDisks: [{ sizeMiB: 1024 }],
  });
  await vm.waitForCloudInit();
  await vm.stop(); // a kept VM keeps running; this process only lets go of it (QMP socket)
  log(`vm ${name}: ready after ${Math.round((Date.now() - t0) / 1000)} s (ssh on 127.0.0.1:${vm.sshPort}, user networking restricted: the VM reaches nothing)`);
  return vm;
}

/** The two lines the operator needs afterwards: how to log in, how to stop it. */
export function howToReach(vm: Pick<Vm, 'name' | 'sshConfigPath' | 'sshPort' | 'sshUser'>): string {
  return [
    `vm ${vm.name}: log in with   ssh -F ${shQuote(vm.sshConfigPath)} -p ${vm.sshPort} ${vm.sshUser}@127.0.0.1`,
    `vm ${vm.name}: stop it with  runbook vm stop ${vm.name}`,
  ].join('\n');
}

type Named = KeptRecord & { name: string };

function records(home: VmHome): Named[] {
  if (!existsSync(home.dir)) return [];
  return readdirSync(home.dir)
    .filter((f) => /^vm-.*\.json$/.test(f))
    .flatMap((f) => {
      try {
        return [{ ...(JSON.parse(readFileSync(join(home.dir, f), 'utf8')) as KeptRecord), name: f.slice(3, -5) }];
      } catch {
        return [];
      }
    });
}

/** `runbook vm list`: one line per kept VM. */
export function listThrowaways(home = throwawayHome()): string {
  const lines = records(home).map((r) => {
    const vm = new VmClass(r.name, r.dir, r.sshUser, r.keyPath, home);
    vm.adopt(r);
    return `${r.name.padEnd(12)} ${vm.running ? 'running' : 'stopped'}  pid ${r.pid}  ssh 127.0.0.1:${r.sshPort}  since ${r.startedAt}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : 'no VMs (runbook run NAME --target vm boots one)\n';
}

/** `runbook vm stop NAME`: stops the VM by its PID and removes its disks and record. */
export async function stopThrowaway(name: string, home = throwawayHome()): Promise<string> {
  const rec = records(home).find((r) => r.name === name);
  if (!rec) throw new RunbookError('usage', `no VM named "${name}"`, { hint: 'runbook vm list' });
  const vm = new VmClass(name, rec.dir, rec.sshUser, rec.keyPath, home);
  vm.adopt(rec);
  await vm.kill();
  return `vm ${name}: stopped (pid ${rec.pid}) and its disks removed\n`;
}
