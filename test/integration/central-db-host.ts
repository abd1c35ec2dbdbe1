// The central-db VM host shared by its VM test and its benchmark: the shared docker-host snapshot
// (test images in Docker, Compose v2), the OCI CLI stand-in installed after each restore, and
// small helpers that run as root on the VM.
import { join } from 'node:path';
import { dockerHostSnapshot, installOciStandin, restoreDockerHost } from '../containers/docker-host.ts';
import { sudo as vmSudo } from '../containers/vm-docker.ts';
import type { RestoreOptions, Snapshot } from '../vm/snapshot.ts';
import type { Vm } from '../../lib/vm/vm.ts';
import { ROOT } from './runbook-cli.ts';

export const FIX = join(ROOT, 'test/integration/fixtures/central-db');
export const STORE = '/var/lib/central-db-backup/.oci-standin';
export const BUCKET = 'central-db-backups';

export const platformVars = {
  POSTGRES_PASSWORD: 'Platform-admin-test-0123456789',
  REDIS_PASSWORD: 'Redis-test-password-0123456789',
  BACKUP_BUCKET: BUCKET,
  BACKUP_PREFIX: 'central-db/test',
  // The test starts the backup unit itself; the timer must not fire in between.
  BACKUP_SCHEDULE: '*-06-15 03:00:00',
  OCI_CLI_AUTH: 'instance_principal',
  // PostgreSQL's first initialisation under software emulation, on a shared 2-core machine, has
  // taken over 5 minutes (the default gate); an A1 host takes seconds.
  GATE_DEADLINE_SECONDS: '900',
};
export const trading = { APP_DB: 'trading_db', APP_ROLE: 'trading_app_user', APP_DIR: '/srv/apps/trading-app' };

/** Runs argv as root on the VM (the container harness's sudo); throws with its output on a non-zero exit. */
export const sudo = (vm: Vm, argv: string[], input?: string, timeoutMs = 300_000): Promise<string> =>
  vmSudo(vm, argv, { timeoutMs, ...(input === undefined ? {} : { input }) });
export const sql = (vm: Vm, db: string, text: string) => sudo(vm, ['docker', 'exec', '-i', 'postgres-db', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', 'platform_admin', '-d', db, '-f', '-'], text);
/** platform.env's value of a key, read as root on the VM (the test stands for the operator's secret store). */
export const envValue = async (vm: Vm, key: string) => (await sudo(vm, ['sed', '-n', `s/^${key}=//p`, '/srv/config/platform.env'])).trim();
/** A query through PgBouncer as the app's role, its password on stdin. */
export const viaPool = (vm: Vm, password: string, query: string) =>
  vm.ssh(['sudo', '-n', 'docker', 'exec', '-i', 'postgres-db', 'sh', '-c', 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -X -q -A -t -h pgbouncer -p 6432 -U trading_app_user -d trading_db -c "$1"', 'sh', query], { input: `${password}\n`, timeoutMs: 60_000 });
export const NEAREST = "SELECT string_agg(id::text, ',' ORDER BY embedding <-> '[0.3,0.1,0.9]') FROM (SELECT id, embedding FROM items ORDER BY embedding <-> '[0.3,0.1,0.9]' LIMIT 5) n;\n";

/** The shared docker-host snapshot (test images in Docker, Compose v2). */
export const platformSnapshot = async (): Promise<Snapshot> => (await dockerHostSnapshot()).snapshot;

/** A VM restored from it, with the OCI CLI stand-in installed (its store stands for the bucket). */
export async function restoreDbHost(snap: Snapshot, o: RestoreOptions): Promise<Vm> {
  const vm = await restoreDockerHost(snap, o);
  await installOciStandin(vm, STORE);
  return vm;
}
