import { checks, defineConfig, secret, splitList, str, type Values, type VarSpec } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Secret } from '../../lib/core/secret.ts';

export const OPT = '/opt/familycart';
export const STATE = '/var/lib/familycart';
export const TOOLS = `${OPT}/tools`;
/** The local dumps (the backup unit's one writable folder; the restore stages under it). */
export const BACKUP_DIR = '/var/backups/familycart';
export const COMPOSE_ENV = `${OPT}/compose.env`;

/** Passwords that go into a Redis config line and a URL: no quoting problems, long enough. */
const password = (v: string) => (/^[A-Za-z0-9_-]{24,128}$/.test(v) ? null : 'must be 24 to 128 letters, digits, "_" or "-" (it goes into a Redis config line and connection URLs)');
const image = (v: string) => (/^[a-z0-9]([\w.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)+$/.test(v) || /^[a-z0-9._-]+$/.test(v) ? null : `must be an image name without a tag, got "${v}"`);
const ipv4 = (v: string) => (/^(\d{1,3})(\.\d{1,3}){3}$/.test(v) && v.split('.').every((o) => +o <= 255) ? null : `must be an IPv4 address, got "${v}"`);

/** What both hosts share: the database and cache credentials. */
const shared: Record<string, VarSpec> = {
  POSTGRES_USER: { description: 'PostgreSQL user of the application', example: 'familycart', default: 'familycart', check: checks.name },
  POSTGRES_DB: { description: 'PostgreSQL database of the application', example: 'familycart', default: 'familycart', check: checks.name },
  POSTGRES_PASSWORD: { description: 'PostgreSQL password (the stateful host sets it, the app host uses it)', example: 'change-me-postgres-password-0123456789', secret: true, check: password },
  REDIS_PASSWORD: { description: 'Redis password (never on a command line: a config on stdin and REDISCLI_AUTH)', example: 'change-me-redis-password-0123456789ab', secret: true, check: password },
};

export interface StatefulConfig {
  privateIp: string;
  appCidrs: string[];
  postgresUser: string;
  postgresDb: string;
  postgresPassword: Secret;
  redisPassword: Secret;
  postgresImage: string;
  redisImage: string;
  backupBucket: string;
  backupPrefix: string;
  retentionDays: number;
  backupSchedule: string;
  ociAuth: string;
}

export const statefulConfig = defineConfig<StatefulConfig>(
  {
    PRIVATE_IP: { description: 'this host\'s private address: PostgreSQL and Redis are published on it only', example: '10.0.1.10', check: ipv4 },
    APP_CIDRS: { description: 'the app host\'s private address (as /32), the only source admitted to 5432 and 6379', example: '10.0.1.20/32', check: checks.cidrList },
    ...shared,
    POSTGRES_IMAGE: { description: 'PostgreSQL image with tag (linux/arm64)', example: 'postgres:15-alpine', default: 'postgres:15-alpine' },
    REDIS_IMAGE: { description: 'Redis image with tag (linux/arm64)', example: 'redis:8.0-alpine', default: 'redis:8.0-alpine' },
    BACKUP_BUCKET: { description: 'Object Storage bucket for the nightly dumps', example: 'familycart-backups', check: checks.bucket },
    BACKUP_PREFIX: { description: 'object name prefix of this database\'s dumps', example: 'familycart/prod', check: checks.objectName },
    BACKUP_RETENTION_DAYS: { description: 'days a local dump is kept', example: '14', default: '14', check: checks.int(1, 3650) },
    BACKUP_SCHEDULE: { description: 'systemd OnCalendar of the nightly dump', example: '*-*-* 03:15:00', default: '*-*-* 03:15:00', check: (v) => (/^[\w :*/,.~-]+$/.test(v) ? null : 'must be an OnCalendar expression') },
    OCI_CLI_AUTH: { description: 'how the backup authenticates to OCI', example: 'instance_principal', default: 'instance_principal', check: checks.oneOf('api_key', 'instance_principal', 'security_token', 'resource_principal') },
  },
  (v) => ({
    privateIp: str(v, 'PRIVATE_IP'),
    appCidrs: splitList(str(v, 'APP_CIDRS')),
    postgresUser: str(v, 'POSTGRES_USER'),
    postgresDb: str(v, 'POSTGRES_DB'),
    postgresPassword: secret(v, 'POSTGRES_PASSWORD'),
    redisPassword: secret(v, 'REDIS_PASSWORD'),
    postgresImage: str(v, 'POSTGRES_IMAGE'),
    redisImage: str(v, 'REDIS_IMAGE'),
    backupBucket: str(v, 'BACKUP_BUCKET'),
    backupPrefix: str(v, 'BACKUP_PREFIX'),
    retentionDays: Number(str(v, 'BACKUP_RETENTION_DAYS')),
    backupSchedule: str(v, 'BACKUP_SCHEDULE'),
    ociAuth: str(v, 'OCI_CLI_AUTH'),
  }),
);

export interface AppConfig {
  statefulIp: string;
  postgresUser: string;
  postgresDb: string;
  postgresPassword: Secret;
  redisPassword: Secret;
  secretKey: Secret;
  registry: string;
  registryUser: string;
  registryPassword?: Secret;
  backendImage: string;
  frontendImage: string;
  sha: string;
  serverNames: string;
  cfIpsUrl: string;
  healthDeadlineSeconds: number;
  rollbackTo: string;
}

export const appConfig = defineConfig<AppConfig>(
  {
    STATEFUL_PRIVATE_IP: { description: 'the stateful host\'s private address (PostgreSQL and Redis)', example: '10.0.1.10', check: ipv4 },
    ...shared,
    SECRET_KEY: { description: 'the backend\'s JWT signing key', example: 'change-me-to-a-long-random-jwt-signing-key-0123456789', secret: true, check: (v) => (v.length >= 32 ? null : 'must be at least 32 characters') },
    REGISTRY: { description: 'registry host the images are pulled from', example: 'ghcr.io', default: 'ghcr.io', check: (v) => (/^[a-z0-9.-]+(:\d+)?$/.test(v) ? null : `must be a registry host, got "${v}"`) },
    REGISTRY_USER: { description: 'registry user (empty: pull anonymously)', example: 'familycart-deploy', optional: true },
    REGISTRY_PASSWORD: { description: 'registry token, given to docker login on stdin', example: 'ghp_exampletoken0123456789', optional: true, secret: true },
    BACKEND_IMAGE: { description: 'backend image without tag (tagged by commit SHA)', example: 'ghcr.io/familycart/familycart-backend', default: 'ghcr.io/familycart/familycart-backend', check: image },
    FRONTEND_IMAGE: { description: 'frontend image without tag (tagged by commit SHA)', example: 'ghcr.io/familycart/familycart-frontend', default: 'ghcr.io/familycart/familycart-frontend', check: image },
    FAMILYCART_SHA: { description: 'commit SHA to deploy (the image tag)', example: '3f2c1ab', check: (v) => (/^[0-9a-f]{7,40}$/.test(v) ? null : 'must be a commit SHA (7 to 40 lowercase hex digits)') },
    SERVER_NAMES: { description: 'nginx server_name values', example: 'app.familycart.app api.familycart.app', default: '_', check: (v) => (/^[\w. *-]+$/.test(v) ? null : 'must be host names separated by spaces') },
    CF_IPS_URL: { description: 'where the daily refresh reads Cloudflare\'s ranges', example: 'https://api.cloudflare.com/client/v4/ips', default: 'https://api.cloudflare.com/client/v4/ips', check: (v) => (/^https?:\/\/[\w.:-]+(\/[\w./?=&-]*)?$/.test(v) ? null : 'must be an http(s) URL') },
    HEALTH_DEADLINE_SECONDS: { description: 'how long a deploy waits for the backend\'s /health and the frontend\'s / before it rolls back', example: '180', default: '180', check: checks.int(10, 3600) },
    ROLLBACK_TO: { description: 'the SHA familycart.rollback goes to ("previous" or a SHA)', example: 'previous', default: 'previous', check: (v) => (v === 'previous' || /^[0-9a-f]{7,40}$/.test(v) ? null : 'must be "previous" or a commit SHA') },
  },
  (v) => {
    if (Boolean(str(v, 'REGISTRY_USER')) !== Boolean(v.REGISTRY_PASSWORD)) throw new RunbookError('config', 'REGISTRY_USER and REGISTRY_PASSWORD go together: set both to log in, or neither to pull anonymously', { hint: 'edit the env file and re-run' });
    return appValues(v);
  },
);

const appValues = (v: Values): AppConfig => ({
  statefulIp: str(v, 'STATEFUL_PRIVATE_IP'),
  postgresUser: str(v, 'POSTGRES_USER'),
  postgresDb: str(v, 'POSTGRES_DB'),
  postgresPassword: secret(v, 'POSTGRES_PASSWORD'),
  redisPassword: secret(v, 'REDIS_PASSWORD'),
  secretKey: secret(v, 'SECRET_KEY'),
  registry: str(v, 'REGISTRY'),
  registryUser: str(v, 'REGISTRY_USER'),
  registryPassword: v.REGISTRY_PASSWORD ? secret(v, 'REGISTRY_PASSWORD') : undefined,
  backendImage: str(v, 'BACKEND_IMAGE'),
  frontendImage: str(v, 'FRONTEND_IMAGE'),
  sha: str(v, 'FAMILYCART_SHA'),
  serverNames: str(v, 'SERVER_NAMES'),
  cfIpsUrl: str(v, 'CF_IPS_URL'),
  healthDeadlineSeconds: Number(str(v, 'HEALTH_DEADLINE_SECONDS')),
  rollbackTo: str(v, 'ROLLBACK_TO'),
});
