import { title } from './catalog.ts';
import type { Runbook } from '../../lib/engine/types.ts';
import { readAsset } from '../../lib/core/assets.ts';
import { exampleValues } from '../../lib/config/schema.ts';
import { backupEnv, backupSteps, backupTimer } from './backup.ts';
import { centralDbConfig, type CentralDbConfig } from './config.ts';
import { dockerSteps } from './docker.ts';
import { onboardSteps } from './onboard.ts';
import { platformKeys } from './platform-files.ts';
import { mergeEnv, parsePlatformEnv, renderEnv } from './platform-env.ts';
import { adminPasswordStep, platformSteps } from './platform.ts';
import { rebuildSteps } from './rebuild.ts';
import { restoreSteps } from './restore.ts';
import { rotateSteps } from './rotate.ts';

const SEED = 'central-db-platform-ops-manual.md';

const DEVIATIONS = [
  'The seed\'s host is Oracle Linux 10 with firewalld and SELinux (permissive); these runbooks target Debian and Ubuntu ARM64 images (Docker from the distribution\'s `docker.io`, Compose v2 from `docker-compose`/`docker-compose-v2`). There is no firewalld zone to open: nothing is published on the host at all (next point), and base-host\'s nftables input policy stays default-deny.',
  'Docker\'s published ports are DNAT-ed before the host\'s input chain, so a firewalld (or nftables input) rule does not protect them. 5432, 6432 and 6379 are therefore not published: applications reach `postgres-db`, `pgbouncer` and `redis` by name on `central-data-platform`, and operators use `docker exec`.',
  'The seed names the images only by product; the images are `pgvector/pgvector:pg17` (container `postgres-db`), `perconalab/percona-pgbouncer:1.24.1` and `redis/redis-stack:7.2.0-v7`, overridable in the env file (`*_IMAGE`, written to platform.env for compose\'s interpolation).',
  'The seed\'s PgBouncer healthcheck `nc -z` proves only an open port. It stays as the container\'s healthcheck (the image has no `pg_isready`), but the bring-up gate is a real `SELECT 1` through the pool with SCRAM.',
  'The seed\'s `/srv/apps/backup.sh` was never published (and upstream history calls it broken). It is written here from scratch: dumps inside the server\'s container (a PostgreSQL 17 server refuses a 15 `pg_dump`, and a 15 `pg_restore` cannot read a 17 dump), a Redis snapshot, a hashed manifest, `--no-overwrite` uploads, a systemd timer instead of the seed\'s suggested cron job, silent on success and one journal line on failure.',
  'The seed\'s workaround password `"6432"` for `trading_app_user` is refused by onboarding (as is any password shorter than `MIN_PASSWORD_LENGTH` or shared with another login); `central-db.rotate-password` replaces it.',
  'The seed reads the app password with `grep | cut` into a shell variable; the runbooks read platform.env themselves and send SQL (carrying a SCRAM verifier, never the plain value) to `psql` on stdin: no argv, no shell history, no server log.',
  'platform.env holds the platform\'s secrets and is deliberately not in the Object Storage backup. Recovery on a new host is: `central-db` (with the same admin and Redis passwords), `central-db.restore`, then `central-db.onboard` per application with `APP_DB_PASSWORD` from your secret store (it finds the restored role, database and grants unchanged and proves the login through PgBouncer).',
  'Redis persistence is RDB snapshots only (`appendonly no` in its config) so a restored `dump.rdb` is what Redis loads; the seed does not say which it used.',
];

const exampleEnvFile = (c: CentralDbConfig) => renderEnv(mergeEnv(parsePlatformEnv(''), platformKeys(c)));

const assets = (c: CentralDbConfig) => [
  { kind: 'compose' as const, path: '/srv/apps/central-db/compose.yaml', content: readAsset('compose/central-db/compose.yaml'), envFile: exampleEnvFile(c) },
  { kind: 'systemd' as const, path: 'central-db-backup.service', content: readAsset('systemd/central-db-backup.service') },
  { kind: 'systemd' as const, path: 'central-db-backup.timer', content: backupTimer(c) },
  { kind: 'text' as const, path: '/srv/config/backup.env', content: backupEnv(c) },
];

export const bringUp: Runbook<CentralDbConfig> = {
  name: 'central-db',
  title: title('central-db'),
  seed: SEED,
  summary: 'Takes a base host to the seed\'s platform: /srv layout, Docker with rotated json-file logs, the external network, platform.env (mode 600), then PostgreSQL (healthy) -> PgBouncer (a query through the pool) -> Redis (answering with auth), none of them published outside the host, and the backup timer.',
  deviations: DEVIATIONS,
  config: centralDbConfig,
  steps: () => [...dockerSteps(), ...platformSteps(), ...backupSteps()],
  assets,
};

export const onboard: Runbook<CentralDbConfig> = {
  name: 'central-db.onboard',
  title: title('central-db.onboard'),
  seed: SEED,
  summary: 'Creates APP_ROLE and APP_DB with the seed\'s grants and pgvector, its password kept in platform.env (refused when weak, short or reused), PgBouncer\'s userlist updated, and the login proved through PgBouncer. A re-run changes nothing.',
  deviations: DEVIATIONS,
  config: centralDbConfig,
  steps: onboardSteps,
};

export const rotatePassword: Runbook<CentralDbConfig> = {
  name: 'central-db.rotate-password',
  title: title('central-db.rotate-password'),
  seed: SEED,
  summary: 'A new strong password for APP_ROLE: staged in platform.env.pending, ALTER ROLE, PgBouncer reloaded, the login proved through PgBouncer, then platform.env replaced atomically (mode 600). A failure puts the old password back.',
  deviations: DEVIATIONS,
  config: centralDbConfig,
  steps: rotateSteps,
};

export const restore: Runbook<CentralDbConfig> = {
  name: 'central-db.restore',
  title: title('central-db.restore'),
  seed: SEED,
  summary: 'On a platform brought up empty by `central-db`: the newest (or RESTORE_FROM) backup fetched and every file verified against its manifest before anything is touched, then the globals, the superuser\'s password from platform.env, each database (fingerprints of every table logged), and the Redis data.',
  deviations: DEVIATIONS,
  config: centralDbConfig,
  steps: () => {
    const [fetch, globals, databases, redis] = restoreSteps() as [ReturnType<typeof restoreSteps>[number], ReturnType<typeof restoreSteps>[number], ReturnType<typeof restoreSteps>[number], ReturnType<typeof restoreSteps>[number]];
    return [fetch, globals, adminPasswordStep(), databases, redis];
  },
};

export const rebuildDb: Runbook<CentralDbConfig> = {
  name: 'central-db.rebuild-db',
  title: title('central-db.rebuild-db'),
  seed: SEED,
  summary: 'The seed\'s "fresh install" (3.2): drop APP_DB WITH (FORCE), re-create it with the grants, run the app\'s init.sql, grant on the new objects, and stamp it with the app\'s migrator container. Destructive: asks at a terminal, needs --yes otherwise.',
  deviations: DEVIATIONS,
  config: centralDbConfig,
  steps: rebuildSteps,
};

/** The example values, for tests and docs. */
export const exampleConfig = () => centralDbConfig.build(exampleValues(centralDbConfig));
