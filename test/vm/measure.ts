// Boot figures of the test VM: `node --import tsx test/vm/measure.ts [runs]` boots a do-nothing
// seed `runs` times (default 3, one VM at a time) and prints boot-to-SSH and boot-to-cloud-init
// for each and their medians. RUNBOOK_VM_CPU picks the qemu -cpu model to compare.
import { bootVm, ensureImage } from '../../lib/vm/vm.ts';

const runs = Number(process.argv[2] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

let t = Date.now();
const image = await ensureImage();
console.log(`image ${image.dir} ready in ${s(Date.now() - t)}`);
const ssh: number[] = [];
const ci: number[] = [];
for (let i = 0; i < runs; i++) {
  t = Date.now();
  const vm = await bootVm({ name: 'measure', userData: '#cloud-config\n{}\n' });
  ssh.push(Date.now() - t);
  try {
    await vm.waitForCloudInit();
    ci.push(Date.now() - t);
  } finally {
    await vm.stop();
  }
  console.log(`run ${i + 1}: SSH ${s(ssh.at(-1) as number)}, cloud-init done ${s(ci.at(-1) as number)}`);
}
console.log(`cpu ${process.env.RUNBOOK_VM_CPU ?? 'cortex-a72'}: boot to SSH ${s(median(ssh))}, to cloud-init done ${s(median(ci))} (median of ${runs})`);
