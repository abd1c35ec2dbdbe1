// The central-db VM host shared by its VM test and its benchmark: the snapshot (test images in
// Docker, Compose v2, the OCI CLI stand-in) and small helpers that run as root on the VM.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureContainerImages } from '../containers/build.ts';
import { loadImages } from '../containers/vm-docker.ts';
import { type Snapshot, ensureSnapshot } from '../vm/snapshot.ts';
import type { Vm } from '../vm/vm.ts';
import { ROOT } from './runbook-cli.ts';

export const FIX = join(ROOT, 'test/integration/fixtures/central-db');
export const STORE = '/var/lib/central-db-backup/.oci-standin';
export const BUCKET = 'central-db-backups';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export const platformVars = {
  POSTGRES_PASSWORD: 'Platform-admin-test-0123456789',
  REDIS_PASSWORD: 'Redis-test-password-0123456789',
  BACKUP_BUCKET: BUCKET,
  BACKUP_PREFIX: 'central-db/test',
  // The test starts the backup unit itself; the timer must not fire in between.
  BACKUP_SCHEDULE: '*-06-15 03:00:00',
  OCI_CLI_AUTH: 'instance_principal',
};
export const trading = { APP_DB: 'trading_db', APP_ROLE: 'trading_app_user', APP_DIR: '/srv/apps/trading-app' };

/** Runs argv as root on the VM; throws with its output on a non-zero exit. */
export async function sudo(vm: Vm, argv: string[], input?: string, timeoutMs = 300_000): Promise<string> {
  const r = await vm.ssh(['sudo', '-n', ...argv], { timeoutMs, ...(input === undefined ? {} : { input }) });
  if (r.exitCode !== 0) throw new Error(`${vm.name}: ${argv.join(' ')} exited ${r.exitCode}: ${(r.stderr || r.stdout).slice(-1500)}`);
  return r.stdout;
}
export const sql = (vm: Vm, db: string, text: string) => sudo(vm, ['docker', 'exec', '-i', 'postgres-db', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', 'platform_admin', '-d', db, '-f', '-'], text);
/** platform.env's value of a key, read as root on the VM (the test stands for the operator's secret store). */
export const envValue = async (vm: Vm, key: string) => (await sudo(vm, ['sed', '-n', `s/^${key}=//p`, '/srv/config/platform.env'])).trim();
/** A query through PgBouncer as the app's role, its password on stdin. */
export const viaPool = (vm: Vm, password: string, query: string) =>
  vm.ssh(['sudo', '-n', 'docker', 'exec', '-i', 'postgres-db', 'sh', '-c', 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -X -q -A -t -h pgbouncer -p 6432 -U trading_app_user -d trading_db -c "$1"', 'sh', query], { input: `${password}\n`, timeoutMs: 60_000 });
export const NEAREST = "SELECT string_agg(id::text, ',' ORDER BY embedding <-> '[0.3,0.1,0.9]') FROM (SELECT id, embedding FROM items ORDER BY embedding <-> '[0.3,0.1,0.9]' LIMIT 5) n;\n";

/** Writes bytes (binary-safe: ssh's stdin, not a string) to a root-owned file on the VM. */
export function putFile(vm: Vm, path: string, mode: string, bytes: Buffer): void {
  execFileSync('ssh', [...vm.sshArgs(), '-l', vm.sshUser, '127.0.0.1', `sudo -n install -D -m ${mode} /dev/stdin ${path}`], { input: bytes, timeout: 300_000 });
}

/** The prepared host: the test images loaded into Docker, Compose v2 and the OCI stand-in on the image. */
export async function platformSnapshot(): Promise<Snapshot> {
  const images = await ensureContainerImages(['postgres', 'pgbouncer', 'redis-stack']);
  const compose = execFileSync('bash', [join(ROOT, 'scripts/fetch-compose.sh')], { env: { ...process.env, COMPOSE_ARCH: 'arm64' } }).toString().trim().split('\n').at(-1) as string;
  const oci = readFileSync(join(ROOT, 'dist/standins/oci.mjs'));
  return ensureSnapshot({
    name: 'central-db',
    vm: { userData: '#cloud-config\n{}\n', memoryMiB: 2048 },
    inputs: [...images.images.map((i) => i.id), sha(readFileSync(compose)), sha(oci)],
    prepare: async (vm) => {
      await loadImages(vm, images);
      // Where a real host has Compose v2 from its distribution (Debian 13's docker-compose).
      putFile(vm, '/usr/libexec/docker/cli-plugins/docker-compose', '0755', readFileSync(compose));
      // The OCI CLI stand-in, one store for every user (the backup unit's state folder is writable to it).
      putFile(vm, '/usr/local/lib/oci-standin/oci.mjs', '0644', oci);
      await sudo(vm, ['install', '-D', '-m', '0755', '/dev/stdin', '/usr/local/bin/oci'], `#!/bin/sh\n# OCI CLI test stand-in (not the product)\nexport OCI_STANDIN_ROOT="\${OCI_STANDIN_ROOT:-${STORE}}"\nexec node /usr/local/lib/oci-standin/oci.mjs "$@"\n`);
    },
  });
}

