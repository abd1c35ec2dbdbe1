// The README's first command: one whole system from an empty ARM64 VM. EventfoldDB (the test's
// release stand-in) is brought up on a fresh VM booted from the cached image, smoke-checked,
// given events, backed up to the OCI stand-in's bucket, its log lost and restored with the
// restore's proof (ReadAll identical), each phase timed. Ends with the command that tries any
// other runbook on a throwaway VM. The VM is stopped at the end (or on Ctrl-C). When a phase
// fails, the times so far are printed, and the VM's console, journal and cloud-init logs are
// saved to a file (named at the end) before the VM is stopped.
import { execa } from 'execa';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventfoldClient } from '../runbooks/eventfold-db/protocol/client.ts';
import { bootVm, testKey, type Vm } from '../lib/vm/vm.ts';
import { ROOT, envFile } from '../test/integration/runbook-cli.ts';
import { ociStandinVendorData } from '../lib/vm/oci-standin-vendor-data.ts';

const BUCKET = 'eventfold-backups';
const phases: [string, number][] = [];
const cli = (args: string[]) => execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), ...args], { stdio: 'inherit', reject: false });
const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

let current = '';
async function phase(title: string, what: () => Promise<void>): Promise<void> {
  process.stdout.write(`\n== ${title}\n`);
  current = title;
  const t0 = Date.now();
  await what();
  phases.push([title, Date.now() - t0]);
  process.stdout.write(`-- ${title}: ${s(Date.now() - t0)}\n`);
}

async function must(args: string[]): Promise<void> {
  const r = await cli(args);
  if (r.exitCode !== 0) throw new Error(`runbook ${args.slice(0, 2).join(' ')} exited ${r.exitCode}`);
}

const release = join(ROOT, 'dist/standins/eventfold-db');
const t0 = Date.now();
let vm: Vm | undefined;
let code = 1;
try {
  await phase('An empty ARM64 VM (the image is built once, then cached), booted with cloud-init', async () => {
    vm = await bootVm({ name: 'demo', userData: '#cloud-config\n{}\n', vendorData: ociStandinVendorData(ROOT), extraDisks: [{ sizeMiB: 512 }], forwards: [2113] });
    await vm.waitForCloudInit();
    process.stdout.write(`VM up: ${vm.target()} (restricted user network, SSH and gRPC forwarded on 127.0.0.1 only)\n`);
  });
  const v = vm as Vm;
  const target = ['--target', v.target(), '--ssh-config', v.sshConfigPath];
  const base = envFile({ ADMIN_USER: 'admin', ADMIN_SSH_KEYS: testKey().publicKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '0' });
  const ef = envFile({
    RELEASE_FILE: release,
    RELEASE_VERSION: '1.0.0',
    RELEASE_SHA256: createHash('sha256').update(readFileSync(release)).digest('hex'),
    APP_CIDRS: '10.0.2.2/32',
    MONITORING_CIDRS: '192.0.2.0/24',
    BACKUP_BUCKET: BUCKET,
    BACKUP_PREFIX: 'eventfold/demo',
    BACKUP_SCHEDULE: '*-06-15 03:00:00',
  });
  await phase('base-host: admin user, SSH keys only, default-deny firewall, journald, upgrades', () => must(['run', 'base-host', ...target, '--env', base, '--yes']));
  await phase('eventfold-db: block volume at /data, install, health-gated deploy, firewall, backup timer', () => must(['run', 'eventfold-db', ...target, '--env', ef, '--yes']));
  await phase('eventfold-db.smoke: health, ReadAll < 2 s, metrics, journal, kill -9 restart', () => must(['run', 'eventfold-db.smoke', ...target, '--env', ef, '--yes']));
  let before: string[] = [];
  await phase('Events in, then a backup to the bucket (the OCI CLI stand-in on the VM)', async () => {
    const client = new EventfoldClient(`127.0.0.1:${v.hostPorts[2113]}`, { deadlineMs: 10_000 });
    try {
      const stream = randomUUID();
      for (let i = 0; i < 20; i++) await client.append(stream, { any: {} }, [{ event_id: randomUUID(), event_type: 'Demo.Happened', payload: Buffer.from(`{"n":${i}}`) }]);
      before = (await client.readEverything()).map((e) => e.event_id);
    } finally {
      client.close();
    }
    const as = ['sudo', 'runuser', '-u', 'eventfold', '--', 'env', 'HOME=/var/lib/eventfold-backup'];
    const mk = await v.ssh([...as, 'oci', 'os', 'bucket', 'create', '--name', BUCKET, '--compartment-id', 'ocid1.compartment.oc1..demo']);
    if (mk.exitCode !== 0) throw new Error(`bucket create: ${mk.stderr}`);
    const b = await v.ssh(['sudo', 'systemctl', 'start', 'eventfold-backup.service'], { timeoutMs: 300_000 });
    if (b.exitCode !== 0) throw new Error(`backup: ${b.stderr}`);
    process.stdout.write(`${before.length} events backed up by eventfold-backup.service\n`);
  });
  await phase('Disk loss, then eventfold-db.restore: verify the backup, swap the log in, prove ReadAll', async () => {
    await v.ssh(['sudo', 'systemctl', 'stop', 'eventfold-db.service']);
    await v.ssh(['sudo', 'rm', '-f', '/data/eventfold.log']);
    await must(['run', 'eventfold-db.restore', ...target, '--env', ef, '--yes']);
    const client = new EventfoldClient(`127.0.0.1:${v.hostPorts[2113]}`, { deadlineMs: 10_000 });
    try {
      const after = (await client.readEverything()).map((e) => e.event_id);
      if (after.join() !== before.join()) throw new Error(`after the restore ReadAll has ${after.length} events, not the ${before.length} backed up`);
      process.stdout.write(`proof: the same ${after.length} events in the same order, read over gRPC from this machine\n`);
    } finally {
      client.close();
    }
  });
  code = 0;
} catch (e) {
  process.stderr.write(`\ndemo: failed in "${current}": ${e instanceof Error ? e.message : String(e)}\n`);
  if (vm) {
    const file = join(mkdtempSync(join(tmpdir(), 'runbook-demo-')), 'vm-diagnostics.txt');
    writeFileSync(file, await vm.diagnostics().catch((d: unknown) => `diagnostics failed: ${String(d)}`));
    process.stderr.write(`demo: the VM's console, journal and cloud-init logs are in ${file}\n`);
  }
} finally {
  if (vm) await vm.stop();
}
process.stdout.write('\n== Time per phase\n');
for (const [t, ms] of phases) process.stdout.write(`${s(ms).padStart(6)}  ${t}\n`);
process.stdout.write(`${s(Date.now() - t0).padStart(6)}  in all\n`);
if (code === 0) {
  process.stdout.write(
    [
      '',
      'Try any other runbook on a throwaway ARM64 VM of your own (kept until you stop it):',
      '  runbook list',
      '  runbook show base-host --env-example > base-host.env   # fill it in',
      '  runbook run base-host --target vm --env base-host.env',
      '  runbook vm stop try',
      '',
    ].join('\n'),
  );
}
process.exitCode = code;
