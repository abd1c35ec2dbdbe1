import { checks, defineConfig, secret, splitList, str } from '../../lib/config/schema.ts';
import type { Secret } from '../../lib/core/secret.ts';

export interface EventfoldConfig {
  device: string;
  releaseFile: string;
  releaseBucket: string;
  releaseObject: string;
  releaseVersion: string;
  releaseSha256: string;
  listen: string;
  metricsListen: string;
  brokerCapacity: string;
  appCidrs: string[];
  monitoringCidrs: string[];
  jwtSecret?: Secret;
  bucket: string;
  prefix: string;
  retentionDays: number;
  fullEveryDays: number;
  backupSchedule: string;
  ociAuth: string;
  keepReleases: number;
  rollbackTo: string;
}

/** One env file serves every EventfoldDB runbook (the PRD's single host). */
export const eventfoldConfig = defineConfig<EventfoldConfig>(
  {
    DATA_DEVICE: { description: 'block device of the data volume; "auto" finds the one attached, unmounted, non-root disk', example: 'auto', default: 'auto', check: (v) => (v === 'auto' || /^\/dev\/[\w/.-]+$/.test(v) ? null : 'must be "auto" or a /dev path') },
    RELEASE_FILE: { description: 'path (on the machine running the runbook) of the aarch64 eventfold-db binary to deploy', example: './eventfold-db', optional: true },
    RELEASE_BUCKET: { description: 'Object Storage bucket holding release binaries, fetched on the host itself with the OCI CLI (instead of RELEASE_FILE; what first boot uses)', example: 'eventfold-artifacts', optional: true, check: checks.bucket },
    RELEASE_OBJECT: { description: 'object name of the aarch64 eventfold-db binary in RELEASE_BUCKET', example: 'eventfold-db/0.16.0/eventfold-db', optional: true, check: checks.objectName },
    RELEASE_VERSION: { description: 'version name of that release (a folder under /opt/eventfold-db/releases)', example: '0.16.0', optional: true, check: (v) => (/^[\w.+-]{1,64}$/.test(v) ? null : 'must be a short version name') },
    RELEASE_SHA256: { description: 'SHA-256 of the release binary, checked before and after upload', example: '0'.repeat(64), optional: true, check: checks.sha256 },
    EVENTFOLD_LISTEN: { description: 'gRPC listen address', example: '[::]:2113', default: '[::]:2113' },
    EVENTFOLD_METRICS_LISTEN: { description: 'metrics listen address (empty disables)', example: '[::]:9090', default: '[::]:9090' },
    EVENTFOLD_BROKER_CAPACITY: { description: 'subscription broker capacity', example: '4096', default: '4096', check: checks.int(1, 1 << 24) },
    APP_CIDRS: { description: 'application subnet(s) allowed to reach gRPC 2113', example: '10.0.1.0/24', check: checks.cidrList },
    MONITORING_CIDRS: { description: 'monitoring subnet(s) allowed to scrape metrics on 9090', example: '10.0.2.0/24', check: checks.cidrList },
    EVENTFOLD_JWT_SECRET: { description: 'HS256 secret for bearer auth on the EventStore service', example: 'change-me-to-64-random-characters-change-me-to-64-random-chars', optional: true, secret: true, check: (v) => (v.length >= 32 ? null : 'must be at least 32 characters') },
    BACKUP_BUCKET: { description: 'Object Storage bucket for backups', example: 'eventfold-backups', check: checks.bucket },
    BACKUP_PREFIX: { description: 'object name prefix for this host\'s backups', example: 'eventfold/prd016', check: (v) => (/^[\w.-]+(\/[\w.-]+)*$/.test(v) ? null : 'must be a path of simple names') },
    BACKUP_RETENTION_DAYS: { description: 'days a finished backup chain is kept', example: '14', default: '14', check: checks.int(1, 3650) },
    BACKUP_FULL_EVERY_DAYS: { description: 'days between full backups (each starts a new chain)', example: '7', default: '7', check: checks.int(1, 365) },
    BACKUP_SCHEDULE: { description: 'systemd OnCalendar of the backup timer', example: 'hourly', default: 'hourly', check: (v) => (/^[\w :*/,.~-]+$/.test(v) ? null : 'must be an OnCalendar expression') },
    OCI_CLI_AUTH: { description: 'how the backup timer authenticates to OCI', example: 'instance_principal', default: 'instance_principal', check: checks.oneOf('api_key', 'instance_principal', 'security_token', 'resource_principal') },
    KEEP_RELEASES: { description: 'releases kept under /opt/eventfold-db/releases', example: '3', default: '3', check: checks.int(2, 50) },
    ROLLBACK_TO: { description: 'release the rollback runbook switches to ("previous" or a version)', example: 'previous', default: 'previous' },
  },
  (v) => ({
    device: str(v, 'DATA_DEVICE'),
    releaseFile: str(v, 'RELEASE_FILE'),
    releaseBucket: str(v, 'RELEASE_BUCKET'),
    releaseObject: str(v, 'RELEASE_OBJECT'),
    releaseVersion: str(v, 'RELEASE_VERSION'),
    releaseSha256: str(v, 'RELEASE_SHA256'),
    listen: str(v, 'EVENTFOLD_LISTEN'),
    metricsListen: str(v, 'EVENTFOLD_METRICS_LISTEN'),
    brokerCapacity: str(v, 'EVENTFOLD_BROKER_CAPACITY'),
    appCidrs: splitList(str(v, 'APP_CIDRS')),
    monitoringCidrs: splitList(str(v, 'MONITORING_CIDRS')),
    jwtSecret: v.EVENTFOLD_JWT_SECRET ? secret(v, 'EVENTFOLD_JWT_SECRET') : undefined,
    bucket: str(v, 'BACKUP_BUCKET'),
    prefix: str(v, 'BACKUP_PREFIX'),
    retentionDays: Number(str(v, 'BACKUP_RETENTION_DAYS')),
    fullEveryDays: Number(str(v, 'BACKUP_FULL_EVERY_DAYS')),
    backupSchedule: str(v, 'BACKUP_SCHEDULE'),
    ociAuth: str(v, 'OCI_CLI_AUTH'),
    keepReleases: Number(str(v, 'KEEP_RELEASES')),
    rollbackTo: str(v, 'ROLLBACK_TO'),
  }),
);

export const DATA = '/data';
export const LOG = '/data/eventfold.log';
export const OPT = '/opt/eventfold-db';
export const TOOLS = `${OPT}/tools/eventfold-tools.mjs`;
