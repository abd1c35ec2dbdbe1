// ARM64 VM figures (medians of BENCH_RUNS boots, default 3): image build (cached; cold when
// BENCH_COLD=1), boot to SSH, boot to cloud-init done with a do-nothing seed and with base-host's
// user-data, base-host first run and re-run over SSH, and base-host's first-boot overhead as a
// ratio (cloud-init done with base-host user-data / with a do-nothing seed).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bootVm, ensureImage, testKey } from '../../lib/vm/vm.ts';
import { envFile, runOn, runbook } from '../../test/integration/runbook-cli.ts';

const N = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (process.env.BENCH_COLD === '1') {
  const cache = process.env.RUNBOOK_CACHE_DIR ?? join(process.env.HOME ?? '/root', '.cache/oci-arm-runbooks');
  rmSync(join(cache, 'images'), { recursive: true, force: true });
}
let t = Date.now();
await ensureImage();
console.log(`image build ${process.env.BENCH_COLD === '1' ? '(cold)' : '(cached)'}   ${s(Date.now() - t)}`);
t = Date.now();
execFileSync('bash', [new URL('../../test/vm/build-image.sh', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'ignore'] });
console.log(`image reuse (cached)         ${s(Date.now() - t)}`);

const env = envFile({ ADMIN_USER: 'admin', ADMIN_SSH_KEYS: testKey().publicKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '256' });
const ud = (await runbook(['user-data', 'base-host', '--env', env])).stdout;
const figures: Record<string, number[]> = { ssh: [], ciNoop: [], ciBase: [], first: [], rerun: [] };
for (let i = 0; i < N; i++) {
  t = Date.now();
  const vm = await bootVm({ name: 'bench-noop', userData: '#cloud-config\n{}\n' });
  figures.ssh?.push(Date.now() - t);
  await vm.waitForCloudInit();
  figures.ciNoop?.push(Date.now() - t);
  let r = Date.now();
  const first = await runOn(vm, 'base-host', env, ['--yes']);
  figures.first?.push(Date.now() - r);
  r = Date.now();
  const again = await runOn(vm, 'base-host', env, [], 'admin');
  figures.rerun?.push(Date.now() - r);
  if (first.exitCode || again.exitCode) console.log(`run ${i}: base-host exited ${first.exitCode}/${again.exitCode}`);
  await vm.stop();
  t = Date.now();
  const vm2 = await bootVm({ name: 'bench-base', userData: ud, sshUser: 'admin' });
  await vm2.waitForCloudInit();
  figures.ciBase?.push(Date.now() - t);
  await vm2.stop();
}
const m = (k: string) => median(figures[k] ?? [0]);
console.log(`boot to SSH                  ${s(m('ssh'))}  (median of ${N})`);
console.log(`boot to cloud-init done      ${s(m('ciNoop'))}  (do-nothing seed)`);
console.log(`boot to cloud-init done      ${s(m('ciBase'))}  (base-host user-data)`);
console.log(`base-host first run (SSH)    ${s(m('first'))}`);
console.log(`base-host re-run (SSH)       ${s(m('rerun'))}`);
console.log(`first-boot overhead ratio    ${(m('ciBase') / m('ciNoop')).toFixed(2)}  (base-host / do-nothing)`);
