// The central data platform on real ARM64 VMs, the sequence end to end: a fresh VM ->
// platform up in order -> pgvector works -> onboard trading_db -> the seed's weak password
// refused -> rotate -> data written -> backup (the timer's unit) -> a second VM from nothing ->
// restore -> equal data, same nearest neighbours, app login through PgBouncer -> rebuild-db on
// the first VM -> ports unreachable from outside -> a failing upload fails the backup unit loudly.
// The container images are the test images built from Debian packages (test/containers); the
// OCI CLI is the test stand-in, one store per VM standing for the bucket, copied from the first
// VM to the second as the same bucket seen from a new host.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINGERPRINT_SQL } from '../../runbooks/central-db/fingerprint.ts';
import { type Link, createLink } from '../vm/link.ts';
import type { Snapshot } from '../vm/snapshot.ts';
import { type Vm, stopAllVms } from '../../lib/vm/vm.ts';
import { BUCKET, FIX, NEAREST, STORE, envValue, platformSnapshot, platformVars, restoreDbHost, sql, sudo, trading, viaPool } from './central-db-host.ts';
import { envFile, explain, runOn, runbook } from './runbook-cli.ts';

// A first bring-up pulls nothing but initialises PostgreSQL and starts three containers under
// software emulation: minutes on a quiet machine, over 15 on a loaded one.
const LONG = 35 * 60_000;
const bringUp = (vm: Vm, env: string) => runbook(['run', 'central-db', '--target', vm.target(), '--ssh-config', vm.sshConfigPath, '--env', env, '--json'], { timeoutMs: LONG });

// Opt-in (RUNBOOK_CENTRAL_DB_VM_TEST=1): it does not fit CI's time yet. It passes here: all 10
// tests green in one run of 89 minutes, beside the Gratonite VM test (four VMs on two cores, load
// about 5); alone it is expected near half that. The restore on the second VM is the longest part
// (37 min of that run).
const runIt = process.env.RUNBOOK_VM_TESTS !== '0' && process.env.RUNBOOK_CENTRAL_DB_VM_TEST === '1';

describe.skipIf(!runIt)('central database platform on ARM64 VMs', () => {
  let snap: Snapshot;
  let link: Link;
  let db1: Vm;
  let db2: Vm | undefined;
  const env1 = envFile({ ...platformVars, ...trading });
  let before: { fingerprint: string; nearest: string; redis: string } | undefined;

  beforeAll(async () => {
    snap = await platformSnapshot();
    link = await createLink('central-db');
    db1 = await restoreDbHost(snap, { name: 'db1', link: link.host(11), forwards: [6432] });
  }, 60 * 60_000);

  afterAll(async () => {
    await stopAllVms();
    link?.close();
  });

  it('brings the platform up in order: PostgreSQL healthy, then a query through PgBouncer, then Redis with auth; a re-run changes nothing', async () => {
    const r = await bringUp(db1, env1);
    expect(r.exitCode, explain(r)).toBe(0);
    const changed = r.of('step-changed').map((e) => e.id);
    expect(changed.indexOf('up.postgres')).toBeLessThan(changed.indexOf('up.pgbouncer'));
    expect(changed.indexOf('up.pgbouncer')).toBeLessThan(changed.indexOf('up.redis'));
    const st = await sudo(db1, ['stat', '-c', '%n %a %U', '/srv/config', '/srv/config/platform.env', '/srv/backups']);
    expect(st.trim().split('\n')).toEqual(['/srv/config 700 root', '/srv/config/platform.env 600 root', '/srv/backups 700 root']);
    expect(JSON.parse(await sudo(db1, ['cat', '/etc/docker/daemon.json']))).toMatchObject({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m' } });
    // No secret in any container's command line.
    const ps = await sudo(db1, ['docker', 'inspect', '-f', '{{.Path}} {{join .Args " "}}', 'postgres-db', 'pgbouncer', 'redis']);
    expect(ps).not.toContain(platformVars.REDIS_PASSWORD);
    expect(ps).not.toContain(platformVars.POSTGRES_PASSWORD);
    const again = await runOn(db1, 'central-db', env1);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.of('step-changed')).toEqual([]);
  }, 45 * 60_000);

  it('pgvector works: CREATE EXTENSION vector and a nearest-neighbour query', async () => {
    const out = await sql(db1, 'postgres', "CREATE EXTENSION IF NOT EXISTS vector;\nSELECT id FROM (VALUES (1, '[1,1,1]'::vector), (2, '[0,0,1]'::vector), (3, '[5,5,5]'::vector)) v(id, e) ORDER BY e <-> '[0,0,0.9]' LIMIT 1;\n");
    expect(out.trim()).toBe('2');
  }, 5 * 60_000);

  it('daemon.json: other keys kept, Docker restarted only for a change, the platform\'s containers back healthy', async () => {
    // An operator's file: other keys, another log-opt, and max-file changed by hand.
    await sudo(db1, ['sh', '-c', 'printf \'%s\\n\' \'{"live-restore": false, "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "2", "compress": "true"}}\' > /etc/docker/daemon.json']);
    const since = (await sudo(db1, ['systemctl', 'show', '-p', 'ActiveEnterTimestampMonotonic', '--value', 'docker.service'])).trim();
    const r = await runOn(db1, 'central-db', env1, ['--only', 'docker.log-rotation']);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('step-changed').map((e) => e.id)).toEqual(['docker.log-rotation']);
    expect(JSON.parse(await sudo(db1, ['cat', '/etc/docker/daemon.json']))).toEqual({ 'live-restore': false, 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '5', compress: 'true' } });
    expect((await sudo(db1, ['systemctl', 'show', '-p', 'ActiveEnterTimestampMonotonic', '--value', 'docker.service'])).trim()).not.toBe(since);
    const health = await sudo(db1, ['docker', 'inspect', '-f', '{{.Name}} {{.State.Health.Status}}', 'postgres-db', 'pgbouncer', 'redis']);
    expect(health.trim().split('\n')).toEqual(['/postgres-db healthy', '/pgbouncer healthy', '/redis healthy']);
    // Unchanged file: no restart.
    const after = (await sudo(db1, ['systemctl', 'show', '-p', 'ActiveEnterTimestampMonotonic', '--value', 'docker.service'])).trim();
    const again = await runOn(db1, 'central-db', env1, ['--only', 'docker.log-rotation']);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.of('step-changed')).toEqual([]);
    expect((await sudo(db1, ['systemctl', 'show', '-p', 'ActiveEnterTimestampMonotonic', '--value', 'docker.service'])).trim()).toBe(after);
  }, 15 * 60_000);

  it('onboards trading_db with the seed\'s grants; a re-run changes nothing', async () => {
    const r = await runOn(db1, 'central-db.onboard', env1);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('step-unchanged').map((e) => e.id)).toContain('onboard.login');
    const pw = await envValue(db1, 'TRADING_APP_DB_PASSWORD');
    expect(pw).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await viaPool(db1, pw, 'SELECT current_user')).stdout.trim()).toBe('trading_app_user');
    const again = await runOn(db1, 'central-db.onboard', env1);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.of('step-changed')).toEqual([]);
  }, 15 * 60_000);

  it('refuses the seed\'s "6432", and rotate-password replaces it, proved through PgBouncer', async () => {
    // The seed's state: the role's password and platform.env's value both "6432".
    await sql(db1, 'postgres', "ALTER ROLE trading_app_user PASSWORD '6432';\n");
    await sudo(db1, ['sed', '-i', 's/^TRADING_APP_DB_PASSWORD=.*/TRADING_APP_DB_PASSWORD=6432/', '/srv/config/platform.env']);
    const refused = await runOn(db1, 'central-db.onboard', env1);
    expect(refused.exitCode, explain(refused)).toBe(4);
    expect(refused.stderr).toMatch(/refused: TRADING_APP_DB_PASSWORD is "6432"/);
    expect(refused.stderr).toMatch(/central-db.rotate-password/);
    const rotated = await runOn(db1, 'central-db.rotate-password', env1, ['--yes']);
    expect(rotated.exitCode, explain(rotated)).toBe(0);
    const pw = await envValue(db1, 'TRADING_APP_DB_PASSWORD');
    expect(pw).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await sudo(db1, ['stat', '-c', '%a %U', '/srv/config/platform.env'])).trim()).toBe('600 root');
    expect((await viaPool(db1, pw, 'SELECT 1')).stdout.trim()).toBe('1');
    expect((await viaPool(db1, '6432', 'SELECT 1')).exitCode).not.toBe(0);
    const onboard = await runOn(db1, 'central-db.onboard', env1);
    expect(onboard.exitCode, explain(onboard)).toBe(0);
  }, 15 * 60_000);

  it('backs up through the timer\'s unit: silent, every file hashed and uploaded with the manifest', async () => {
    const pw = await envValue(db1, 'TRADING_APP_DB_PASSWORD');
    const write = await viaPool(
      db1,
      pw,
      "CREATE TABLE items (id int PRIMARY KEY, embedding vector(3)); INSERT INTO items SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.37)]::real[]::vector FROM generate_series(1, 2000) i; CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops); CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) SELECT md5(i::text) FROM generate_series(1, 500) i;",
    );
    expect(write.exitCode, write.stderr).toBe(0);
    await sudo(db1, ['docker', 'exec', '-i', 'redis', 'sh', '-c', 'IFS= read -r REDISCLI_AUTH && export REDISCLI_AUTH && redis-cli --no-auth-warning MSET session:1 alpha session:2 beta >/dev/null'], `${platformVars.REDIS_PASSWORD}\n`);
    before = { fingerprint: await sql(db1, 'trading_db', FINGERPRINT_SQL), nearest: await sql(db1, 'trading_db', NEAREST), redis: 'alpha beta' };
    expect(before.fingerprint).toMatch(/^public\.items\|2000\|[0-9a-f]{32}$/m);
    await sudo(db1, ['install', '-d', '-m', '0700', STORE]);
    await sudo(db1, ['oci', 'os', 'bucket', 'create', '--name', BUCKET, '--compartment-id', 'ocid1.compartment.oc1..test']);
    const since = (await sudo(db1, ['date', '+%s'])).trim();
    const run = await db1.ssh(['sudo', '-n', 'systemctl', 'start', 'central-db-backup.service'], { timeoutMs: 20 * 60_000 });
    expect(run.exitCode, await sudo(db1, ['journalctl', '-u', 'central-db-backup', '--no-pager', '-n', '30'])).toBe(0);
    const journal = await sudo(db1, ['journalctl', '-t', 'central-db-backup', '--since', `@${since}`, '--no-pager', '-o', 'cat']);
    expect(journal.trim()).toBe('');
    const names = (JSON.parse(await sudo(db1, ['oci', 'os', 'object', 'list', '--bucket-name', BUCKET, '--all'])) as { data: { name: string }[] }).data.map((o) => o.name.split('/').pop());
    expect(names.sort()).toEqual(['MANIFEST', 'db-trading_db.dump', 'globals.sql', 'redis.rdb']);
  }, 45 * 60_000);

  it('restores on a second VM from nothing: equal rows and checksums, same nearest neighbours, Redis data, app login through PgBouncer', async () => {
    const second = await restoreDbHost(snap, { name: 'db2', link: link.host(12) });
    db2 = second;
    // The same bucket seen from the new host.
    const store = execFileSync('ssh', [...db1.sshArgs(), '-l', db1.sshUser, '127.0.0.1', `sudo -n tar -C ${STORE} -cf - .`], { maxBuffer: 512 << 20 });
    await sudo(second, ['install', '-d', '-m', '0700', STORE]);
    const put = execFileSync('ssh', [...second.sshArgs(), '-l', second.sshUser, '127.0.0.1', `sudo -n tar -C ${STORE} -xf -`], { input: store });
    expect(put.length).toBe(0);
    const env2 = envFile({ ...platformVars, ...trading, APP_DB_PASSWORD: await envValue(db1, 'TRADING_APP_DB_PASSWORD') });
    const up = await bringUp(second, env2);
    expect(up.exitCode, explain(up)).toBe(0);
    const restored = await runbook(['run', 'central-db.restore', '--target', second.target(), '--ssh-config', second.sshConfigPath, '--env', env2, '--json', '--yes'], { timeoutMs: LONG });
    expect(restored.exitCode, explain(restored)).toBe(0);
    const onboard = await runOn(second, 'central-db.onboard', env2);
    expect(onboard.exitCode, explain(onboard)).toBe(0);
    // The restored role, database and grants are found as they were: only platform.env and the userlist are new here.
    expect(onboard.of('step-changed').map((e) => e.id).sort()).toEqual(['onboard.password', 'onboard.userlist']);
    expect(await sql(second, 'trading_db', FINGERPRINT_SQL)).toBe(before?.fingerprint);
    expect(await sql(second, 'trading_db', NEAREST)).toBe(before?.nearest);
    const redis = await sudo(second, ['docker', 'exec', '-i', 'redis', 'sh', '-c', 'IFS= read -r REDISCLI_AUTH && export REDISCLI_AUTH && redis-cli --no-auth-warning MGET session:1 session:2'], `${platformVars.REDIS_PASSWORD}\n`);
    expect(redis.trim().split('\n').join(' ')).toBe(before?.redis);
    expect((await viaPool(second, await envValue(db1, 'TRADING_APP_DB_PASSWORD'), 'SELECT count(*) FROM items')).stdout.trim()).toBe('2000');
  }, 45 * 60_000);

  it('rebuild-db on the first VM: refused without a terminal or --yes, then drop, schema, grants and the migrator\'s stamp', async () => {
    await sudo(db1, ['install', '-d', '-m', '0755', '/srv/apps/trading-app']);
    for (const [f, mode] of [['init.sql', '0644'], ['alembic', '0755'], ['compose.yaml', '0644']] as const) await sudo(db1, ['install', '-m', mode, '/dev/stdin', `/srv/apps/trading-app/${f}`], readFileSync(join(FIX, f), 'utf8'));
    const refused = await runOn(db1, 'central-db.rebuild-db', env1);
    expect(refused.exitCode, explain(refused)).toBe(4);
    expect((await sql(db1, 'trading_db', 'SELECT count(*) FROM items;\n')).trim()).toBe('2000');
    const r = await runOn(db1, 'central-db.rebuild-db', env1, ['--yes']);
    expect(r.exitCode, explain(r)).toBe(0);
    expect((await sql(db1, 'trading_db', 'SELECT version_num FROM alembic_version;\n')).trim()).toBe('4f2a9c1e7b30');
    expect((await sql(db1, 'trading_db', "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';\n")).trim()).toBe('accounts,alembic_version,trades');
    const pw = await envValue(db1, 'TRADING_APP_DB_PASSWORD');
    expect((await viaPool(db1, pw, "INSERT INTO accounts (name) VALUES ('a') RETURNING id")).stdout.trim()).toBe('1');
  }, 20 * 60_000);

  it('5432, 6432 and 6379 are unreachable from outside the host: from the second VM over the link, and from the host through a forward', async () => {
    const other = db2 as Vm;
    const reach = async (port: number) => (await other.ssh(['nc', '-z', '-w', '3', '10.77.0.11', String(port)], { timeoutMs: 30_000 })).exitCode === 0;
    expect(await reach(22)).toBe(true);
    for (const port of [5432, 6432, 6379]) expect(await reach(port), `port ${port} reachable from db2`).toBe(false);
    // From the host: 127.0.0.1:<forward> reaches the guest's 6432, where nothing is published.
    const answered = await new Promise<boolean>((resolve) => {
      const s = connect(db1.hostPorts[6432] as number, '127.0.0.1');
      let got = false;
      s.on('data', () => (got = true));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(false));
      s.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])); // SSLRequest: a PgBouncer answers one byte
      setTimeout(() => s.destroy(), 5_000);
    });
    expect(answered).toBe(false);
  }, 5 * 60_000);

  it('a failing upload makes the backup unit fail, with one journal line', async () => {
    await sudo(db1, ['mv', `${STORE}/buckets/${BUCKET}`, `${STORE}/buckets-gone`]);
    const since = (await sudo(db1, ['date', '+%s'])).trim();
    const run = await db1.ssh(['sudo', '-n', 'systemctl', 'start', 'central-db-backup.service'], { timeoutMs: 20 * 60_000 });
    expect(run.exitCode).not.toBe(0);
    expect((await db1.ssh(['systemctl', 'is-failed', 'central-db-backup.service'])).stdout.trim()).toBe('failed');
    const lines = (await sudo(db1, ['journalctl', '-t', 'central-db-backup', '--since', `@${since}`, '--no-pager', '-o', 'cat'])).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^central-db backup \d{8}T\d{6}Z failed at upload globals.sql \(exit 1\): "code": "BucketNotFound"/);
  }, 20 * 60_000);
});
