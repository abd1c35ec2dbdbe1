import { read, write } from '../../lib/core/cmd.ts';
import { ensureFile, fileCmds } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { CheckResult, Step } from '../../lib/engine/types.ts';
import type { BaseHostConfig } from './config.ts';

const SWAPFILE = '/swapfile';

/** Whether /etc/fstab has a swap entry for the swap file (any options: cloud-init adds a comment option). */
export function fstabHasSwap(fstab: string, file = SWAPFILE): boolean {
  return fstab.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return !l.trim().startsWith('#') && f[0] === file && f[2] === 'swap';
  });
}

async function drift(exec: Executor, c: BaseHostConfig): Promise<string[]> {
  const want = c.swapMiB * 1024 * 1024;
  const active = (await exec.run(read`swapon --show=NAME --noheadings`)).stdout.split('\n').map((s) => s.trim());
  const size = await exec.run(read({ okCodes: [0, 1] })`stat -c %s ${SWAPFILE}`);
  const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
  const out: string[] = [];
  if (want === 0) {
    if (active.includes(SWAPFILE)) out.push(`${SWAPFILE} is active but SWAP_SIZE_MB is 0`);
    if (fstabHasSwap(fstab)) out.push(`/etc/fstab still mounts ${SWAPFILE}`);
    return out;
  }
  if (size.exitCode !== 0) out.push(`${SWAPFILE} does not exist`);
  else if (Number(size.stdout.trim()) !== want) out.push(`${SWAPFILE} is ${Math.round(Number(size.stdout) / 1048576)} MiB, want ${c.swapMiB} MiB`);
  if (!active.includes(SWAPFILE)) out.push(`${SWAPFILE} is not active`);
  if (!fstabHasSwap(fstab)) out.push(`/etc/fstab has no entry for ${SWAPFILE}`);
  return out;
}

export function swapStep(): Step<BaseHostConfig> {
  return {
    id: 'base.swap',
    title: 'Swap file',
    doc: 'A swap file of `SWAP_SIZE_MB` MiB at `/swapfile`, active now and listed in `/etc/fstab`; resized when the size changes, removed when it is 0.',
    async check({ exec, config }): Promise<CheckResult> {
      const d = await drift(exec, config);
      return d.length ? { done: false, reason: d.join('; ') } : { done: true, reason: config.swapMiB ? `${config.swapMiB} MiB active and in fstab` : 'no swap file, as configured' };
    },
    async apply({ exec, config: c, log }) {
      const active = (await exec.run(read`swapon --show=NAME --noheadings`)).stdout.includes(SWAPFILE);
      const size = await exec.run(read({ okCodes: [0, 1] })`stat -c %s ${SWAPFILE}`);
      const want = c.swapMiB * 1024 * 1024;
      const fstab = (await exec.run(fileCmds.cat('/etc/fstab'))).stdout;
      const wrongSize = size.exitCode === 0 && Number(size.stdout.trim()) !== want;
      if (active && (wrongSize || want === 0)) await exec.run(write({ timeoutMs: 10 * 60_000 })`swapoff ${SWAPFILE}`);
      if (want === 0) {
        await exec.run(write`rm -f ${SWAPFILE}`);
        const kept = fstab.split('\n').filter((l) => !fstabHasSwap(l)).join('\n');
        await ensureFile(exec, { path: '/etc/fstab', content: kept, mode: '0644' });
        return;
      }
      if (size.exitCode !== 0 || wrongSize) {
        log(`creating ${SWAPFILE} (${c.swapMiB} MiB)`);
        await exec.run(write`rm -f ${SWAPFILE}`);
        await exec.run(write`fallocate -l ${want} ${SWAPFILE}`);
        await exec.run(write`chmod 0600 ${SWAPFILE}`);
        await exec.run(write`mkswap ${SWAPFILE}`);
      }
      if (!active || wrongSize) await exec.run(write`swapon ${SWAPFILE}`);
      if (!fstabHasSwap(fstab)) {
        await ensureFile(exec, { path: '/etc/fstab', content: `${fstab.replace(/\n*$/, '\n')}${SWAPFILE} none swap sw 0 0\n`, mode: '0644' });
      }
    },
  };
}
