import { checks, defineConfig, secret, splitList, str, type Values } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
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
  /** The operator chose to remove the host's JWT secret (bearer auth off). */
  bearerAuthOff: boolean;
  bucket: string;
  prefix: string;
  retentionDays: number;
  fullEveryDays: number;
  backupSchedule: string;
  ociAuth: string;
  keepReleases: number;
  rollbackTo: string;
  /** gRPC TLS; absent means plaintext (acceptable inside the VCN only, PRD 016 §PRD 011). */
  tls?: { certFile: string; keyFile: string; trustFile: string; serverName: string };
}

/** The server refuses to start with only one of cert and key; so does the config, earlier. */
function tlsConfig(v: Values): EventfoldConfig['tls'] {
  const [cert, key, name, trust] = ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_SERVER_NAME', 'TLS_TRUST_FILE'].map((k) => str(v, k)) as [string, string, string, string];
  if (!cert && !key) {
    if (name || trust) throw new RunbookError('config', 'TLS_SERVER_NAME or TLS_TRUST_FILE is set but TLS_CERT_FILE and TLS_KEY_FILE are not', { hint: 'set TLS_CERT_FILE and TLS_KEY_FILE for TLS, or remove the TLS_ lines for plaintext' });
    return undefined;
  }
  if (!cert || !key) throw new RunbookError('config', `${cert ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'} is missing: TLS needs both the certificate and its key (EventfoldDB refuses to start with only one)`, { hint: 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither for plaintext' });
  if (!name) throw new RunbookError('config', 'TLS_SERVER_NAME is required with TLS: the host checks verify the certificate against it', { hint: 'set TLS_SERVER_NAME to a DNS name in the certificate (its subjectAltName)' });
  return { certFile: cert, keyFile: key, trustFile: trust || cert, serverName: name };
}

function bearerAuthOff(v: Values): boolean {
  const off = str(v, 'BEARER_AUTH_OFF') === 'yes';
  if (off && v.EVENTFOLD_JWT_SECRET) throw new RunbookError('config', 'BEARER_AUTH_OFF=yes and EVENTFOLD_JWT_SECRET are both set', { hint: 'keep one: the secret turns bearer auth on, BEARER_AUTH_OFF=yes turns it off' });
  return off;
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
    BEARER_AUTH_OFF: { description: 'set to "yes" to turn bearer auth off on a host that has it: without it, a run with no EVENTFOLD_JWT_SECRET refuses to remove the secret the host\'s server env file holds', example: 'no', default: 'no', check: checks.oneOf('yes', 'no') },
    BACKUP_BUCKET: { description: 'Object Storage bucket for backups', example: 'eventfold-backups', check: checks.bucket },
    BACKUP_PREFIX: { description: 'object name prefix for this host\'s backups (name the host in it; chains also carry the host name, and a restore or retention uses only its own host\'s)', example: 'eventfold/eventfold-db-1', check: (v) => (/^[\w.-]+(\/[\w.-]+)*$/.test(v) ? null : 'must be a path of simple names') },
    BACKUP_RETENTION_DAYS: { description: 'days a finished backup chain is kept', example: '14', default: '14', check: checks.int(1, 3650) },
    BACKUP_FULL_EVERY_DAYS: { description: 'days between full backups (each starts a new chain)', example: '7', default: '7', check: checks.int(1, 365) },
    BACKUP_SCHEDULE: { description: 'systemd OnCalendar of the backup timer', example: 'hourly', default: 'hourly', check: (v) => (/^[\w :*/,.~-]+$/.test(v) ? null : 'must be an OnCalendar expression') },
    OCI_CLI_AUTH: { description: 'how the backup timer authenticates to OCI', example: 'instance_principal', default: 'instance_principal', check: checks.oneOf('api_key', 'instance_principal', 'security_token', 'resource_principal') },
    KEEP_RELEASES: { description: 'releases kept under /opt/eventfold-db/releases', example: '3', default: '3', check: checks.int(2, 50) },
    TLS_CERT_FILE: { description: 'PEM certificate (chain) for gRPC TLS, a path on the machine running the runbook; with TLS_KEY_FILE. Unset: plaintext, for inside the VCN only', example: './eventfold.crt', optional: true },
    TLS_KEY_FILE: { description: 'PEM private key of TLS_CERT_FILE, a path on the machine running the runbook (installed mode 0640 root:eventfold)', example: './eventfold.key', optional: true },
    TLS_SERVER_NAME: { description: 'a DNS name in the certificate; the host checks (health, smoke, restore) verify the server against it on 127.0.0.1', example: 'eventfold.internal', optional: true, check: (v) => (/^[a-zA-Z0-9*]([\w.-]{0,252})$/.test(v) ? null : 'must be a DNS name') },
    TLS_TRUST_FILE: { description: 'PEM CA certificate that signed TLS_CERT_FILE, used by the host checks (default: the certificate itself, for a self-signed one)', example: './ca.crt', optional: true },
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
    bearerAuthOff: bearerAuthOff(v),
    bucket: str(v, 'BACKUP_BUCKET'),
    prefix: str(v, 'BACKUP_PREFIX'),
    retentionDays: Number(str(v, 'BACKUP_RETENTION_DAYS')),
    fullEveryDays: Number(str(v, 'BACKUP_FULL_EVERY_DAYS')),
    backupSchedule: str(v, 'BACKUP_SCHEDULE'),
    ociAuth: str(v, 'OCI_CLI_AUTH'),
    keepReleases: Number(str(v, 'KEEP_RELEASES')),
    rollbackTo: str(v, 'ROLLBACK_TO'),
    tls: tlsConfig(v),
  }),
);

export const DATA = '/data';
export const LOG = '/data/eventfold.log';
export const OPT = '/opt/eventfold-db';
export const TOOLS = `${OPT}/tools/eventfold-tools.mjs`;
export const SERVER_ENV = '/etc/eventfold-db/eventfold-db.env';
export const TLS_DIR = '/etc/eventfold-db/tls';
