// Central data platform figures on the ARM64 VM (software emulation: compare the ratios, not the
// seconds), with a pgbench database of BENCH_SCALE (default 4) on the platform:
//   backup: the backup unit (globals, pg_dump -Fc per database inside the container, Redis
//     snapshot, hashes, manifest, uploads to the OCI stand-in) / a plain `pg_dump -Fc` of the same
//     database in the same container;
//   restore: `central-db.restore` on a second VM (fetch, verify every hash, globals, databases,
//     Redis) / a plain `pg_restore --create` of the same dump on that VM;
//   PgBouncer: pgbench -S (one short SELECT per transaction, 8 clients) through pgbouncer:6432 in
//     transaction pooling / the same directly on postgres-db:5432, both inside the container.
import { execFileSync } from 'node:child_process';
import { createLink } from '../../test/vm/link.ts';
import { stopAllVms, type Vm } from '../../lib/vm/vm.ts';
import { BUCKET, STORE, platformSnapshot, platformVars, restoreDbHost, sql, sudo } from '../../test/integration/central-db-host.ts';
import { envFile, runOn } from '../../test/integration/runbook-cli.ts';

const scale = Number(process.env.BENCH_SCALE ?? 4);
const seconds = Number(process.env.BENCH_PGBENCH_SECONDS ?? 30);
const timed = async (f: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const ok = (r: { exitCode: number; stderr: string }, what: string) => {
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr.slice(-800)}`);
};
/** pgbench inside postgres-db as the admin (password on stdin), against a host and port. */
const pgbench = (vm: Vm, host: string, port: number, args: string[]) =>
  sudo(vm, ['docker', 'exec', '-i', 'postgres-db', 'sh', '-c', 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec pgbench "$@"', 'sh', '-h', host, '-p', String(port), '-U', 'platform_admin', ...args], `${platformVars.POSTGRES_PASSWORD}\n`, 30 * 60_000);
const tps = (out: string) => Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? Number.NaN);

async function main(): Promise<void> {
  const snap = await platformSnapshot();
  const link = await createLink('central-db-bench');
  try {
    const env = envFile({ ...platformVars });
    const a = await restoreDbHost(snap, { name: 'bench1', link: link.host(21) });
    ok(await runOn(a, 'central-db', env), 'central-db on bench1');
    await sql(a, 'postgres', 'CREATE DATABASE bench_db;\n');
    await pgbench(a, '127.0.0.1', 5432, ['-i', '-q', '-s', String(scale), 'bench_db']);
    const size = (await sql(a, 'postgres', "SELECT pg_size_pretty(pg_database_size('bench_db')) || ' (' || pg_database_size('bench_db') || ' bytes)';\n")).trim();
    console.log(`database: pgbench scale ${scale}, ${size}`);

    const plainDump = await timed(() => sudo(a, ['sh', '-c', 'docker exec postgres-db pg_dump -U platform_admin -Fc -d bench_db > /var/tmp/plain.dump'], undefined, 30 * 60_000));
    await sudo(a, ['install', '-d', '-m', '0700', STORE]);
    await sudo(a, ['oci', 'os', 'bucket', 'create', '--name', BUCKET, '--compartment-id', 'ocid1.compartment.oc1..test']);
    const backup = await timed(() => sudo(a, ['systemctl', 'start', 'central-db-backup.service'], undefined, 60 * 60_000));
    console.log(`backup: ${backup.toFixed(1)} s vs plain pg_dump -Fc ${plainDump.toFixed(1)} s: ratio ${(backup / plainDump).toFixed(2)}`);

    const direct = tps(await pgbench(a, '127.0.0.1', 5432, ['-n', '-S', '-c', '8', '-j', '2', '-T', String(seconds), 'bench_db']));
    const pooled = tps(await pgbench(a, 'pgbouncer', 6432, ['-n', '-S', '-c', '8', '-j', '2', '-T', String(seconds), 'bench_db']));
    console.log(`pgbench -S, 8 clients, ${seconds} s: direct ${direct.toFixed(0)} tps, through PgBouncer (transaction pooling) ${pooled.toFixed(0)} tps: ratio ${(pooled / direct).toFixed(2)}`);

    const b = await restoreDbHost(snap, { name: 'bench2', link: link.host(22) });
    const store = execFileSync('ssh', [...a.sshArgs(), '-l', a.sshUser, '127.0.0.1', `sudo -n tar -C ${STORE} -cf - .`], { maxBuffer: 2 << 30 });
    await sudo(b, ['install', '-d', '-m', '0700', STORE]);
    execFileSync('ssh', [...b.sshArgs(), '-l', b.sshUser, '127.0.0.1', `sudo -n tar -C ${STORE} -xf -`], { input: store });
    ok(await runOn(b, 'central-db', env), 'central-db on bench2');
    const restore = await timed(async () => ok(await runOn(b, 'central-db.restore', env, ['--yes']), 'central-db.restore'));
    await sql(b, 'postgres', 'DROP DATABASE bench_db WITH (FORCE);\n');
    const dump = execFileSync('ssh', [...a.sshArgs(), '-l', a.sshUser, '127.0.0.1', 'sudo -n cat /var/tmp/plain.dump'], { maxBuffer: 2 << 30 });
    execFileSync('ssh', [...b.sshArgs(), '-l', b.sshUser, '127.0.0.1', 'sudo -n sh -c "cat > /var/tmp/plain.dump && docker cp /var/tmp/plain.dump postgres-db:/tmp/plain.dump"'], { input: dump });
    const plainRestore = await timed(() => sudo(b, ['docker', 'exec', 'postgres-db', 'pg_restore', '-U', 'platform_admin', '-d', 'postgres', '--create', '--exit-on-error', '/tmp/plain.dump'], undefined, 60 * 60_000));
    console.log(`restore: central-db.restore ${restore.toFixed(1)} s vs plain pg_restore --create ${plainRestore.toFixed(1)} s: ratio ${(restore / plainRestore).toFixed(2)}`);
  } finally {
    await stopAllVms();
    link.close();
  }
}

await main();
