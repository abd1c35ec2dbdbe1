// Gratonite figures on the ARM64 VM (software emulation: an A1 host is many times faster; compare
// the parts, not the seconds): the bring-up from an empty host (after base-host: volume, Docker
// settings, firewall, Caddy, coturn, pulls, every gate), the smoke checklist from outside, a
// deploy of a new good tag, and a rollback to the one before (which runs the smoke again).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAllVms } from '../../lib/vm/vm.ts';
import { gratoniteHost } from '../../test/integration/gratonite-host.ts';
import { envFile, runbook } from '../../test/integration/runbook-cli.ts';

const timed = async (what: string, f: () => Promise<{ exitCode: number; stderr: string }>) => {
  const t = Date.now();
  const r = await f();
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr.slice(-800)}`);
  return (Date.now() - t) / 1000;
};

try {
  const host = await gratoniteHost('bench-gratonite');
  const secrets = join(mkdtempSync(join(tmpdir(), 'gratonite-bench-')), 'secrets.env');
  await timed('gratonite.secrets', () => runbook(['run', 'gratonite.secrets', '--target', 'local', '--env', envFile({ GENERATE_INTO: secrets })]));
  const base = await timed('base-host', () => host.run('base-host', [host.baseEnv]));
  const bringUp = await timed('bring-up', () => host.run('gratonite', [host.site(), secrets]));
  const rerun = await timed('re-run', () => host.run('gratonite', [host.site(), secrets]));
  const smoke = await timed('smoke', () => host.run('gratonite.smoke', [host.site(), secrets]));
  const deploy = await timed('deploy v3', () => host.run('gratonite', [host.site({ GRATONITE_TAG: 'v3' }), secrets]));
  const rollback = await timed('rollback', () => host.run('gratonite.rollback', [host.site({ GRATONITE_TAG: 'v3' }), secrets]));
  console.log('Gratonite on the ARM64 VM (software emulation)');
  console.log(`  base-host first                     ${base.toFixed(0)} s`);
  console.log(`  bring-up from an empty host          ${bringUp.toFixed(0)} s (PostgreSQL's first start included)`);
  console.log(`  re-run, nothing to change            ${rerun.toFixed(0)} s`);
  console.log(`  smoke checklist (6 checks)           ${smoke.toFixed(1)} s`);
  console.log(`  deploy of a new tag (v1 -> v3)       ${deploy.toFixed(0)} s`);
  console.log(`  rollback (v3 -> v1, smoke included)  ${rollback.toFixed(0)} s`);
} finally {
  await stopAllVms();
}
