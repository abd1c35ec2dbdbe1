// Snapshot figures of the ARM64 test VM (medians of BENCH_RUNS, default 3; one VM at a time
// unless said): cold boot to SSH, snapshot build, restore to SSH and to ready (clock and
// hostname set), their ratio; then one -smp 2 VM running a small workload twice against two
// -smp 1 VMs running it once each in parallel (both restored from snapshots).
import { ensureSnapshot, restoreVm, type SnapshotSpec } from '../../test/vm/snapshot.ts';
import { bootVm, ensureImage, type Vm } from '../../lib/vm/vm.ts';

const N = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const secs = (line: string | undefined) => Number(/([\d.]+) s$/.exec(line ?? '')?.[1] ?? NaN) * 1000;
const userData = '#cloud-config\n{}\n';

await ensureImage();
const cold: number[] = [];
for (let i = 0; i < N; i++) {
  const t = Date.now();
  const vm = await bootVm({ name: 'bench-cold', userData });
  cold.push(Date.now() - t);
  await vm.stop();
}
console.log(`cold boot to SSH             ${s(median(cold))}  (median of ${N}: ${cold.map(s).join(', ')})`);

const spec = (cpus: number): SnapshotSpec => ({ name: `bench-smp${cpus}`, vm: { userData, cpus } });
let t = Date.now();
const snap2 = await ensureSnapshot(spec(2));
console.log(`snapshot ready (smp 2)       ${s(Date.now() - t)}  (${Date.now() - t > 30_000 ? 'built now' : 'cached'}; a build took ${snap2.meta.buildSeconds} s)`);
const toSsh: number[] = [];
const ready: number[] = [];
for (let i = 0; i < N; i++) {
  t = Date.now();
  const vm = await restoreVm(snap2, { name: 'bench-restore' });
  ready.push(Date.now() - t);
  toSsh.push(secs(vm.restoreTimes?.find((x) => x.startsWith('SSH'))));
  await vm.stop();
}
console.log(`snapshot restore to SSH      ${s(median(toSsh))}  (median of ${N}: ${toSsh.map(s).join(', ')})`);
console.log(`snapshot restore to ready    ${s(median(ready))}  (clock and hostname set)`);
console.log(`restore / cold boot          ${(median(toSsh) / median(cold)).toFixed(2)}  (to SSH; ${(median(ready) / median(cold)).toFixed(2)} to ready; target <= 0.2)`);

// The small workload: five Node start-ups, a 200 MB sha256 in Python, a 100 MB file written and synced.
const work = ['sh', '-c', 'for i in 1 2 3 4 5; do node -e 1; done; python3 -c "import hashlib; [hashlib.sha256(bytes(10**6)).digest() for _ in range(200)]"; dd if=/dev/zero of=/tmp/w bs=1M count=100 conv=fsync status=none; rm /tmp/w'];
const run = async (vm: Vm) => {
  const r = await vm.ssh(work, { timeoutMs: 900_000 });
  if (r.exitCode !== 0) throw new Error(`workload failed on ${vm.name}: ${r.stderr}`);
};
const one: number[] = [];
const two: number[] = [];
const snap1 = await ensureSnapshot(spec(1));
for (let i = 0; i < N; i++) {
  t = Date.now();
  const vm = await restoreVm(snap2, { name: 'bench-smp2' });
  await run(vm);
  await run(vm);
  await vm.stop();
  one.push(Date.now() - t);
  t = Date.now();
  await Promise.all(
    ['bench-smp1-a', 'bench-smp1-b'].map(async (name) => {
      const vm = await restoreVm(snap1, { name });
      await run(vm);
      await vm.stop();
    }),
  );
  two.push(Date.now() - t);
}
console.log(`workload x2 on one -smp 2 VM ${s(median(one))}  (restore included; median of ${N}: ${one.map(s).join(', ')})`);
console.log(`workload on two -smp 1 VMs   ${s(median(two))}  (in parallel, restores included; ${two.map(s).join(', ')})`);
console.log(`two -smp 1 / one -smp 2      ${(median(two) / median(one)).toFixed(2)}`);
