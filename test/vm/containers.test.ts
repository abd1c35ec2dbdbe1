// Containers in the ARM64 VM: the test images built here from Debian packages are in Docker with
// their reproducible IDs (loaded once into the shared docker-host snapshot, restored here); the
// postgres image initialises from its environment, passes its pg_isready healthcheck and serves
// pgvector; pgbouncer pools to it on 6432; both redis images answer only with the password from
// their config file; and the local registry (htpasswd auth) takes a push by tag and serves a pull
// by digest. RUNBOOK_VM_TESTS=0 skips it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../lib/core/secret.ts';
import { type BuiltImage, imageConfig, sha256 } from '../containers/archive.ts';
import type { ImageSet } from '../containers/build.ts';
import { dockerHostSnapshot, restoreDockerHost } from '../containers/docker-host.ts';
import { tarBuffer } from '../containers/tar.ts';
import { dockerLogin, imageIds, loadImages, missingImages, pullByDigest, pushImage, startRegistry, sudo } from '../containers/vm-docker.ts';
import { stopAllVms, type Vm } from '../../lib/vm/vm.ts';

const vmTests = process.env.RUNBOOK_VM_TESTS !== '0';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PG_PASSWORD = 'pg-test-Secret-4711';
const REDIS_PASSWORD = 'redis-test-Secret-0815';

describe.skipIf(!vmTests)('test container images under Docker in the ARM64 VM', () => {
  let vm: Vm;
  let set: ImageSet;
  const put = (path: string, content: string, mode = '0644') => sudo(vm, ['install', '-D', '-m', mode, '/dev/stdin', path], { input: content });
  const docker = (...argv: string[]) => sudo(vm, ['docker', ...argv], { timeoutMs: 300_000 });
  // A container's stderr (the server's own log lines) comes out on docker logs' stderr: read both.
  const logs = (name: string, tail = 'all') => sudo(vm, ['sh', '-c', 'docker logs --tail "$1" "$2" 2>&1', 'sh', tail, name], { timeoutMs: 120_000 });
  const health = async (name: string) => (await docker('inspect', '--format', '{{.State.Health.Status}}', name)).trim();
  async function waitHealthy(name: string, deadlineMs = 300_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    for (let h = await health(name); h !== 'healthy'; h = await health(name)) {
      if (h === 'unhealthy' || Date.now() > end) throw new Error(`${name} is ${h}:\n${await logs(name, '40').catch(String)}`);
      await sleep(2_000);
    }
  }

  beforeAll(async () => {
    const host = await dockerHostSnapshot();
    set = host.images;
    vm = await restoreDockerHost(host.snapshot, { name: 'containers' });
    await docker('network', 'create', 'central-data-platform');
  }, 3_600_000);
  afterAll(stopAllVms, 60_000);

  it('has every image with the ID computed on the build host, so loading again streams nothing', async () => {
    const ids = await imageIds(vm, set.images.flatMap((i) => i.tags));
    for (const i of set.images) for (const t of i.tags) expect(ids[t], t).toBe(i.id);
    expect(await missingImages(vm, set)).toEqual([]);
    expect(await loadImages(vm, set)).toEqual(ids);
  }, 600_000);

  it('postgres: initdb from POSTGRES_* (password from a _FILE), initdb.d scripts, pg_isready healthy, pgvector', async () => {
    await put('/srv/secrets/pg-password', PG_PASSWORD, '0600');
    await put('/srv/init/10-schema.sql', 'CREATE TABLE init_marker (ran text);\nINSERT INTO init_marker VALUES (current_user);\n');
    await put('/srv/init/20-note.sh', 'echo "sourced with POSTGRES_DB=$POSTGRES_DB"\n');
    await docker(
      'run', '-d', '--name', 'postgres-db', '--network', 'central-data-platform',
      '-e', 'POSTGRES_USER=platform_admin', '-e', 'POSTGRES_DB=platform', '-e', 'POSTGRES_PASSWORD_FILE=/run/secrets/pg-password',
      '-v', '/srv/secrets/pg-password:/run/secrets/pg-password:ro', '-v', '/srv/init:/docker-entrypoint-initdb.d:ro',
      '-v', '/srv/data/postgres:/var/lib/postgresql/data',
      '--health-cmd', 'pg_isready -U platform_admin -d platform', '--health-interval', '3s', '--health-retries', '100',
      'pgvector/pgvector:pg17',
    );
    await waitHealthy('postgres-db');
    const initLog = await logs('postgres-db');
    expect(initLog).toMatch(/running \/docker-entrypoint-initdb\.d\/10-schema\.sql/);
    expect(initLog).toMatch(/sourced with POSTGRES_DB=platform/);
    const psql = (sql: string) => docker('exec', 'postgres-db', 'psql', '-U', 'platform_admin', '-d', 'platform', '-Atc', sql);
    expect((await psql('SELECT ran FROM init_marker')).trim()).toBe('platform_admin');
    expect((await psql("SELECT current_setting('server_version_num')::int / 10000, current_setting('listen_addresses'), current_setting('password_encryption')")).trim()).toBe('17|*|scram-sha-256');
    expect((await docker('exec', 'postgres-db', 'stat', '-c', '%U', '/proc/1')).trim()).toBe('postgres');
    await psql('CREATE EXTENSION vector');
    await psql("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3)); INSERT INTO items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[9,9,9]')");
    expect((await psql("SELECT id FROM items ORDER BY embedding <-> '[5,5,5]' LIMIT 1")).trim()).toBe('2');
  }, 900_000);

  it('postgres: host connections need the password (scram-sha-256); a restart keeps the data and skips initdb', async () => {
    await put('/srv/secrets/pgpass', `*:*:*:platform_admin:${PG_PASSWORD}\n`, '0600');
    const client = (pgpass: boolean, host: string, port: string) =>
      vm.ssh(['sudo', '-n', 'docker', 'run', '--rm', '--network', 'central-data-platform', ...(pgpass ? ['-v', '/srv/secrets/pgpass:/pgpass:ro', '-e', 'PGPASSFILE=/pgpass'] : []),
        '--entrypoint', 'psql', 'pgvector/pgvector:pg17', '-h', host, '-p', port, '-U', 'platform_admin', '-d', 'platform', '-w', '-Atc', 'SELECT count(*) FROM items'], { timeoutMs: 300_000 });
    const denied = await client(false, 'postgres-db', '5432');
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/password/);
    const ok = await client(true, 'postgres-db', '5432');
    expect(ok.stdout.trim()).toBe('3');
    // Clean shutdown on docker stop, and the data directory is reused as it is.
    await docker('stop', '--time', '120', 'postgres-db');
    expect((await docker('inspect', '--format', '{{.State.ExitCode}}', 'postgres-db')).trim()).toBe('0');
    expect(await logs('postgres-db', '5')).toMatch(/database system is shut down/);
    await docker('start', 'postgres-db');
    await waitHealthy('postgres-db');
    expect(await logs('postgres-db', '30')).toMatch(/appears to contain a database; Skipping initialization/);
    expect((await client(true, 'postgres-db', '5432')).stdout.trim()).toBe('3');
  }, 900_000);

  it('pgbouncer: the mounted config and userlist, 6432, nc -z healthcheck, transaction pooling to postgres', async () => {
    await put('/srv/config/pgbouncer/pgbouncer.ini', [
      '[databases]', 'platform = host=postgres-db port=5432 dbname=platform', '',
      '[pgbouncer]', 'listen_addr = 0.0.0.0', 'listen_port = 6432', 'unix_socket_dir =', 'auth_type = scram-sha-256',
      'auth_file = /etc/pgbouncer/userlist.txt', 'pool_mode = transaction', 'ignore_startup_parameters = extra_float_digits', '',
    ].join('\n'));
    await put('/srv/config/pgbouncer/userlist.txt', `"platform_admin" "${PG_PASSWORD}"\n`);
    await docker(
      'run', '-d', '--name', 'pgbouncer', '--network', 'central-data-platform',
      '-v', '/srv/config/pgbouncer/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro', '-v', '/srv/config/pgbouncer/userlist.txt:/etc/pgbouncer/userlist.txt:ro',
      '--health-cmd', 'nc -z 127.0.0.1 6432', '--health-interval', '2s', '--health-retries', '60',
      'perconalab/percona-pgbouncer:1.24.1',
    );
    await waitHealthy('pgbouncer');
    const r = await vm.ssh(['sudo', '-n', 'docker', 'run', '--rm', '--network', 'central-data-platform', '-v', '/srv/secrets/pgpass:/pgpass:ro', '-e', 'PGPASSFILE=/pgpass',
      '--entrypoint', 'psql', 'pgvector/pgvector:pg17', '-h', 'pgbouncer', '-p', '6432', '-U', 'platform_admin', '-d', 'platform', '-w', '-Atc', 'SELECT count(*) FROM items'], { timeoutMs: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('3');
    expect((await docker('exec', 'pgbouncer', 'stat', '-c', '%U', '/proc/1')).trim()).toBe('postgres');
  }, 600_000);

  for (const [image, conf, args] of [
    ['redis:7', '/usr/local/etc/redis/redis.conf', ['redis-server', '/usr/local/etc/redis/redis.conf']],
    ['redis/redis-stack:7.2.0-v7', '/redis-stack.conf', []],
  ] as const) {
    it(`${image}: the password from a mounted config file, PING only with auth, data in /data`, async () => {
      const name = image.startsWith('redis:') ? 'redis' : 'redis-stack';
      await put(`/srv/config/${name}.conf`, `requirepass ${REDIS_PASSWORD}\nappendonly yes\n`);
      await docker('run', '-d', '--name', name, '--network', 'central-data-platform', '-v', `/srv/config/${name}.conf:${conf}:ro`, '-v', `/srv/data/${name}:/data`, image, ...args);
      const cli = (auth: boolean, ...cmd: string[]) =>
        vm.ssh(['sudo', '-n', 'docker', 'exec', '-i', name, 'sh', '-c', `${auth ? 'read -r p; export REDISCLI_AUTH="$p"; ' : ''}exec redis-cli --no-auth-warning "$@"`, 'redis-cli', ...cmd], {
          input: auth ? `${REDIS_PASSWORD}\n` : '',
          timeoutMs: 60_000,
        });
      let pong = '';
      for (let i = 0; i < 60 && pong !== 'PONG'; i++) {
        pong = (await cli(true, 'PING')).stdout.trim();
        if (pong !== 'PONG') await sleep(1_000);
      }
      expect(pong).toBe('PONG');
      expect((await cli(false, 'PING')).stdout).toMatch(/NOAUTH/);
      expect((await cli(true, 'SET', 'k', 'v')).stdout.trim()).toBe('OK');
      expect((await cli(true, 'CONFIG', 'GET', 'dir')).stdout).toContain('/data');
      const cmdline = await docker('exec', name, 'cat', '/proc/1/cmdline');
      expect(cmdline).not.toContain(REDIS_PASSWORD);
      expect(await sudo(vm, ['ls', '-R', `/srv/data/${name}`])).toMatch(/appendonly|\.aof/);
    }, 300_000);
  }

  it('local registry with htpasswd auth: docker login --password-stdin, push by tag, pull by digest, refused without login', async () => {
    // A tiny image written by the archive writer (one small layer): pushing the shared base
    // layer would cost minutes of gzip under emulation and prove nothing more.
    const dir = mkdtempSync(join(tmpdir(), 'probe-image-'));
    try {
      const layer = await tarBuffer([{ path: 'probe.txt', type: 'file', mode: 0o644, data: Buffer.from('registry probe\n') }]);
      const diffIds = [`sha256:${sha256(layer)}`];
      const config = imageConfig({ cmd: ['/probe.txt'] }, diffIds, '2025-01-01T00:00:00.000Z', ['probe']);
      writeFileSync(join(dir, sha256(layer)), layer);
      writeFileSync(join(dir, sha256(config)), config);
      const probe: BuiltImage = { ref: 'probe/app:1', tags: ['probe/app:1'], id: `sha256:${sha256(config)}`, diffIds };
      await loadImages(vm, { dir, images: [probe], blobFile: (d) => join(dir, d.slice(7)) });

      const password = new Secret('REGISTRY_PASSWORD', 'registry-test-Secret-42');
      const registry = await startRegistry(vm, { auth: { user: 'deploy', password } });
      expect(registry.address).toBe('127.0.0.1:5000');
      const anonymous = await vm.ssh(['sudo', '-n', 'docker', 'push', '127.0.0.1:5000/probe/app:1'], { timeoutMs: 120_000 });
      await dockerLogin(vm, registry, password);
      const pushed = await pushImage(vm, 'probe/app:1', registry);
      expect(pushed.name).toBe('127.0.0.1:5000/probe/app:1');
      expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(anonymous.exitCode).not.toBe(0);
      await docker('rmi', 'probe/app:1', pushed.name);
      expect((await imageIds(vm, ['probe/app:1']))['probe/app:1']).toBe('');
      expect(await pullByDigest(vm, pushed.name, pushed.digest)).toBe(probe.id);
      await docker('logout', registry.address);
      await docker('rmi', `127.0.0.1:5000/probe/app@${pushed.digest}`);
      const refused = await vm.ssh(['sudo', '-n', 'docker', 'pull', `127.0.0.1:5000/probe/app@${pushed.digest}`], { timeoutMs: 120_000 });
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/no basic auth credentials|unauthorized/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
