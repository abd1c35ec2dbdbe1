// The main command of the README: build (or reuse) the ARM64 image, boot a VM, show the plan of
// the base-host runbook, run it over SSH, run it again to show it converged, and stop the VM.
import { execa } from 'execa';
import { join } from 'node:path';
import { bootVm, testKey } from '../test/vm/vm.ts';
import { ROOT, envFile } from '../test/integration/runbook-cli.ts';

const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
const cli = (args: string[]) => execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), ...args], { stdio: 'inherit', reject: false });

say('ARM64 image (built once, then cached) and a fresh VM booted with cloud-init');
const t0 = Date.now();
const vm = await bootVm({ name: 'demo', userData: '#cloud-config\n{}\n' });
let code = 1;
try {
  await vm.waitForCloudInit();
  console.log(`VM up in ${Math.round((Date.now() - t0) / 1000)} s: ${vm.target()} (restricted user network, SSH on 127.0.0.1 only)`);
  const env = envFile({ ADMIN_USER: 'admin', ADMIN_SSH_KEYS: testKey().publicKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '256' });
  const target = ['--target', vm.target(), '--ssh-config', vm.sshConfigPath, '--env', env];
  say('The plan: runbook run base-host --dry-run');
  await cli(['run', 'base-host', ...target, '--dry-run']);
  say('The run: runbook run base-host --yes');
  code = (await cli(['run', 'base-host', ...target, '--yes'])).exitCode ?? 1;
  say('Again, as the new admin user: every step unchanged');
  const again = await cli(['run', 'base-host', '--target', vm.target('admin'), '--ssh-config', vm.sshConfigPath, '--env', env]);
  code ||= again.exitCode ?? 1;
} finally {
  say('Stopping the VM');
  await vm.stop();
}
process.exitCode = code;
