// FamilyCart figures on two ARM64 VMs of 1 GiB (software emulation: an A1 host is many times
// faster; compare the ratios, not the seconds): the allowlist refresh, a deploy and a rollback, and
// the backup and restore runbooks against plain pg_dump / pg_restore of the same database on the
// same host. BENCH_ROWS sets the size of the database (rows of a 200-byte payload).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAllVms } from '../../lib/vm/vm.ts';
import { sudo } from '../../test/containers/vm-docker.ts';
import { createLink } from '../../test/vm/link.ts';
import { HOSTS, SHA, TOKEN, appHost, combinedSshConfig, familycartSnapshot, statefulHost, systemEnv } from '../../test/integration/familycart-host.ts';
import { envFile, runbook } from '../../test/integration/runbook-cli.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 300_000);
const seconds = async (f: () => Promise<unknown>) => {
  const t = Date.now();
  await f();
  return (Date.now() - t) / 1000;
};
const ok = async (what: string, p: ReturnType<typeof runbook>) => {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr.slice(-800)}`);
};

const link = await createLink('fc-bench');
try {
  const snap = await familycartSnapshot();
  const stateful = await statefulHost(snap, link, 'bench-fc-stateful');
  const app = await appHost(snap, link);
  const ssh = combinedSshConfig(mkdtempSync(join(tmpdir(), 'familycart-bench-')), [stateful, app]);
  const env = await systemEnv(app);
  const targets = `stateful=${stateful.target()},app=${app.target()}`;
  const sys = (files: string[], extra: string[] = []) => runbook(['run', 'familycart', '--target', targets, '--ssh-config', ssh, ...files.flatMap((f) => ['--env', f]), '--json', '--yes', ...extra], { timeoutMs: 60 * 60_000 });
  const stOnly = envFile({ PRIVATE_IP: `10.77.0.${HOSTS.stateful}`, APP_CIDRS: `10.77.0.${HOSTS.app}/32` });
  const onStateful = (name: string) => runbook(['run', name, '--target', stateful.target(), '--ssh-config', stateful.sshConfigPath, '--env', env, '--env', stOnly, '--json', '--yes'], { timeoutMs: 60 * 60_000 });

  const bringUp = await seconds(() => ok('bring-up', sys([env])));
  const refresh: number[] = [];
  for (let i = 0; i < 3; i++) refresh.push(await seconds(() => sudo(app, ['systemctl', 'start', 'cf-allowlist.service'], { timeoutMs: 300_000 })));
  // A deploy of a second SHA: the good images tagged again under a new SHA.
  const second = '2b3c4d5';
  for (const repo of ['backend', 'frontend']) {
    await sudo(app, ['sh', '-c', `docker login -u deploy --password-stdin 127.0.0.1:5000 >/dev/null && docker pull -q 127.0.0.1:5000/familycart/${repo}:${SHA.good} >/dev/null && docker tag 127.0.0.1:5000/familycart/${repo}:${SHA.good} 127.0.0.1:5000/familycart/${repo}:${second} && docker push -q 127.0.0.1:5000/familycart/${repo}:${second} >/dev/null && docker rmi 127.0.0.1:5000/familycart/${repo}:${second} >/dev/null && docker logout 127.0.0.1:5000 >/dev/null`], { input: `${TOKEN.reveal()}\n`, timeoutMs: 600_000 });
  }
  const deploy2 = await seconds(() => ok('deploy', sys([env, envFile({ FAMILYCART_SHA: second })], ['--from', 'app/familycart.app'])));
  const rollback = await seconds(() => ok('rollback', runbook(['run', 'familycart.rollback', '--target', app.target(), '--ssh-config', app.sshConfigPath, '--env', env, '--env', envFile({ STATEFUL_PRIVATE_IP: `10.77.0.${HOSTS.stateful}`, FAMILYCART_SHA: second }), '--json', '--yes'], { timeoutMs: 30 * 60_000 })));

  const psql = (sql: string) => sudo(stateful, ['docker', 'exec', '-i', 'familycart-stateful-postgres-1', 'sh', '-c', 'exec psql -X -q -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f -'], { input: sql, timeoutMs: 3_600_000 });
  await psql(`CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL); INSERT INTO bench_rows (payload) SELECT md5(g::text) || repeat('x', 168) FROM generate_series(1, ${ROWS}) g;`);
  const size = (await psql('SELECT pg_size_pretty(pg_database_size(current_database()));')).trim();
  const plainDump = await seconds(() => sudo(stateful, ['sh', '-c', 'docker exec familycart-stateful-postgres-1 sh -c \'exec pg_dump -Fc -U "$POSTGRES_USER" "$POSTGRES_DB"\' > /var/tmp/plain.dump'], { timeoutMs: 3_600_000 }));
  const backup = await seconds(() => ok('backup', onStateful('familycart.backup')));
  await psql('DROP DATABASE IF EXISTS plain_restore;');
  await psql('CREATE DATABASE plain_restore;');
  const plainRestore = await seconds(() => sudo(stateful, ['sh', '-c', 'docker exec -i familycart-stateful-postgres-1 sh -c \'exec pg_restore --no-owner --single-transaction --exit-on-error -U "$POSTGRES_USER" -d plain_restore\' < /var/tmp/plain.dump'], { timeoutMs: 3_600_000 }));
  const restore = await seconds(() => ok('restore', onStateful('familycart.restore')));

  const median = [...refresh].sort((a, b) => a - b)[1] as number;
  console.log('FamilyCart on two ARM64 VMs of 1 GiB (software emulation)');
  console.log(`  bring-up of both hosts (base-host included)  ${bringUp.toFixed(0)} s`);
  console.log(`  allowlist refresh (fetch, check, load)       ${median.toFixed(1)} s (median of 3)`);
  console.log(`  deploy of a new SHA (pull, gates)            ${deploy2.toFixed(0)} s`);
  console.log(`  rollback to the previous SHA                 ${rollback.toFixed(0)} s`);
  console.log(`  database                                     ${size} (${ROWS} rows of bench_rows and the app's)`);
  console.log(`  plain pg_dump -Fc                            ${plainDump.toFixed(1)} s`);
  console.log(`  familycart.backup (dump, check, upload)      ${backup.toFixed(1)} s (${(backup / plainDump).toFixed(2)}x)`);
  console.log(`  plain pg_restore (one transaction)           ${plainRestore.toFixed(1)} s`);
  console.log(`  familycart.restore (fetch, verify, prove)    ${restore.toFixed(1)} s (${(restore / plainRestore).toFixed(2)}x)`);
} finally {
  await stopAllVms();
  link.close();
}
