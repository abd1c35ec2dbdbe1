import { checks, defineConfig, secret, str, type Values } from '../../lib/config/schema.ts';
import type { Secret } from '../../lib/core/secret.ts';

export interface AppDb {
  /** The database (`trading_db`). */
  db: string;
  /** Its login role (`trading_app_user`). */
  role: string;
  /** The platform.env key holding the role's password (`TRADING_APP_DB_PASSWORD`). */
  passwordKey: string;
  /** The platform.env key naming the role, so PgBouncer's userlist is built from platform.env alone. */
  userKey: string;
  /** A password given by the operator (restoring onto a new host); otherwise platform.env's or a new one. */
  password?: Secret;
  /** Host folder of the app (init.sql, its compose file with the migrator service). */
  dir: string;
  initSql: string;
  migratorService: string;
  migratorCommand: string[];
}

export interface CentralDbConfig {
  adminUser: string;
  adminPassword: Secret;
  redisPassword: Secret;
  images: { POSTGRES_IMAGE: string; PGBOUNCER_IMAGE: string; REDIS_IMAGE: string };
  bucket: string;
  prefix: string;
  keepLocal: number;
  backupSchedule: string;
  ociAuth: string;
  minPasswordLength: number;
  /** How long each bring-up gate waits (a container healthy, a query through the pool, Redis with auth). */
  gateDeadlineMs: number;
  restoreFrom: string;
  app?: AppDb;
}

/** Every piece of platform state lives under /srv (the seed's FHS rule), so recovery is "restore /srv". */
export const SRV = {
  config: '/srv/config',
  env: '/srv/config/platform.env',
  pgbouncer: '/srv/config/pgbouncer',
  redisConf: '/srv/config/redis/redis-stack.conf',
  backupEnv: '/srv/config/backup.env',
  data: '/srv/data',
  postgres: '/srv/data/postgres',
  redis: '/srv/data/redis',
  apps: '/srv/apps',
  compose: '/srv/apps/central-db/compose.yaml',
  backupScript: '/srv/apps/backup.sh',
  backups: '/srv/backups',
} as const;

export const NETWORK = 'central-data-platform';
export const CONTAINERS = { postgres: 'postgres-db', pgbouncer: 'pgbouncer', redis: 'redis' } as const;
/** The seed's documented weak value (the trading app used its password as the port). */
export const KNOWN_WEAK = ['6432'];

const ident = (v: string) => (/^[a-z_][a-z0-9_]{0,62}$/.test(v) ? null : `must be a lower-case SQL identifier (letters, digits, _), got "${v}"`);
const image = (v: string) => (/^[\w.:/@-]+$/.test(v) ? null : `must be an image reference, got "${v}"`);

/** `trading_app_user` -> `TRADING_APP_DB_PASSWORD`: the seed's key name for the trading app. */
export const passwordKeyFor = (role: string) => `${role.replace(/_user$/, '').toUpperCase()}_DB_PASSWORD`;
export const userKeyFor = (role: string) => `${role.replace(/_user$/, '').toUpperCase()}_DB_USER`;

function appConfig(v: Values): AppDb | undefined {
  const db = str(v, 'APP_DB');
  const role = str(v, 'APP_ROLE');
  if (!db || !role) return undefined;
  const dir = str(v, 'APP_DIR') || `${SRV.apps}/${db.replace(/_db$/, '').replace(/_/g, '-')}-app`;
  return {
    db,
    role,
    passwordKey: passwordKeyFor(role),
    userKey: userKeyFor(role),
    password: v.APP_DB_PASSWORD ? secret(v, 'APP_DB_PASSWORD') : undefined,
    dir,
    initSql: str(v, 'APP_INIT_SQL') || `${dir}/init.sql`,
    migratorService: str(v, 'MIGRATOR_SERVICE'),
    migratorCommand: str(v, 'MIGRATOR_COMMAND').split(/\s+/).filter(Boolean),
  };
}

/** One env file (or several with --env) serves every central-db runbook; APP_* name one application database. */
export const centralDbConfig = defineConfig<CentralDbConfig>(
  {
    POSTGRES_USER: { description: 'the PostgreSQL superuser (the seed\'s platform_admin)', example: 'platform_admin', default: 'platform_admin', check: ident },
    POSTGRES_PASSWORD: { description: 'its password, written to /srv/config/platform.env (mode 600)', example: 'change-me-Platform-Admin-0123456789', secret: true, check: (v) => (v.length >= 16 && !/['"\s\\$]/.test(v) ? null : 'must be at least 16 characters without quotes, spaces, "\\" or "$"') },
    REDIS_PASSWORD: { description: 'the Redis password (requirepass in its config file, never on a command line)', example: 'change-me-Redis-0123456789abcdef', secret: true, check: (v) => (v.length >= 16 && /^[\w.~+=@%-]+$/.test(v) ? null : 'must be at least 16 characters of letters, digits and . ~ + = @ % - _') },
    POSTGRES_IMAGE: { description: 'PostgreSQL 17 with pgvector image', example: 'pgvector/pgvector:pg17', default: 'pgvector/pgvector:pg17', check: image },
    PGBOUNCER_IMAGE: { description: 'PgBouncer image (multi-platform, runs on arm64)', example: 'perconalab/percona-pgbouncer:1.24.1', default: 'perconalab/percona-pgbouncer:1.24.1', check: image },
    REDIS_IMAGE: { description: 'Redis image', example: 'redis/redis-stack:7.2.0-v7', default: 'redis/redis-stack:7.2.0-v7', check: image },
    BACKUP_BUCKET: { description: 'Object Storage bucket for backups', example: 'central-db-backups', check: checks.bucket },
    BACKUP_PREFIX: { description: 'object name prefix for this platform\'s backups', example: 'central-db/prod', check: checks.objectName },
    BACKUP_KEEP_LOCAL: { description: 'backups kept under /srv/backups (older ones are removed after a successful upload)', example: '7', default: '7', check: checks.int(1, 365) },
    BACKUP_SCHEDULE: { description: 'systemd OnCalendar of the backup timer', example: '*-*-* 02:30:00', default: '*-*-* 02:30:00', check: (v) => (/^[\w :*/,.~-]+$/.test(v) ? null : 'must be an OnCalendar expression') },
    OCI_CLI_AUTH: { description: 'how the backup authenticates to OCI', example: 'instance_principal', default: 'instance_principal', check: checks.oneOf('api_key', 'instance_principal', 'security_token', 'resource_principal') },
    GATE_DEADLINE_SECONDS: { description: 'how long each bring-up gate waits (PostgreSQL healthy, a query through PgBouncer, Redis with auth) before the run stops; PostgreSQL replaying a large WAL after a crash can need more', example: '300', default: '300', check: checks.int(30, 7200) },
    MIN_PASSWORD_LENGTH: { description: 'shortest application password accepted', example: '20', default: '20', check: checks.int(12, 128) },
    RESTORE_FROM: { description: 'backup the restore uses: "newest" or a stamp such as 20261201T023000Z', example: 'newest', default: 'newest', check: (v) => (v === 'newest' || /^\d{8}T\d{6}Z$/.test(v) ? null : 'must be "newest" or a stamp like 20261201T023000Z') },
    APP_DB: { description: 'onboard, rotate-password, rebuild-db: the application database', example: 'trading_db', optional: true, check: ident },
    APP_ROLE: { description: 'its login role; its password lives in platform.env as <ROLE without _user, upper case>_DB_PASSWORD', example: 'trading_app_user', optional: true, check: ident },
    APP_DB_PASSWORD: { description: 'onboard: the role\'s password when it is not yet in platform.env (e.g. re-onboarding after a restore); left unset, platform.env\'s value is used or a new one generated', example: 'change-me-a-long-random-application-password', optional: true, secret: true },
    APP_DIR: { description: 'rebuild-db: the app\'s folder on the host (init.sql, compose file with the migrator)', example: '/srv/apps/trading-app', optional: true, check: checks.absPath },
    APP_INIT_SQL: { description: 'rebuild-db: the schema file on the host (default APP_DIR/init.sql)', example: '/srv/apps/trading-app/init.sql', optional: true, check: checks.absPath },
    MIGRATOR_SERVICE: { description: 'rebuild-db: the compose service of the app\'s one-shot migrator', example: 'migrator', default: 'migrator', check: (v) => (/^[\w.-]+$/.test(v) ? null : 'must be a compose service name') },
    MIGRATOR_COMMAND: { description: 'rebuild-db: the migrator\'s command (split on spaces)', example: 'alembic upgrade head', default: 'alembic upgrade head', check: (v) => (/^[\w .:=/-]+$/.test(v) ? null : 'must be plain words') },
  },
  (v) => ({
    adminUser: str(v, 'POSTGRES_USER'),
    adminPassword: secret(v, 'POSTGRES_PASSWORD'),
    redisPassword: secret(v, 'REDIS_PASSWORD'),
    images: { POSTGRES_IMAGE: str(v, 'POSTGRES_IMAGE'), PGBOUNCER_IMAGE: str(v, 'PGBOUNCER_IMAGE'), REDIS_IMAGE: str(v, 'REDIS_IMAGE') },
    bucket: str(v, 'BACKUP_BUCKET'),
    prefix: str(v, 'BACKUP_PREFIX'),
    keepLocal: Number(str(v, 'BACKUP_KEEP_LOCAL')),
    gateDeadlineMs: Number(str(v, 'GATE_DEADLINE_SECONDS')) * 1000,
    backupSchedule: str(v, 'BACKUP_SCHEDULE'),
    ociAuth: str(v, 'OCI_CLI_AUTH'),
    minPasswordLength: Number(str(v, 'MIN_PASSWORD_LENGTH')),
    restoreFrom: str(v, 'RESTORE_FROM'),
    app: appConfig(v),
  }),
);
