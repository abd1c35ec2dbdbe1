import { checks, defineConfig, secret, splitList, str, type Values, type VarSpec } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Secret } from '../../lib/core/secret.ts';
import { secretChecks } from './secrets.ts';

export const OPT = '/opt/gratonite';
/** The block volume: the stateful services' data and Caddy's logs. */
export const SRV = '/srv/gratonite';
export const STATE = '/var/lib/gratonite';
export const COMPOSE_FILE = `${OPT}/compose.yaml`;
/** compose.env sits with the env files: a deploy snapshot and a rollback treat them alike. */
export const COMPOSE_ENV = `${OPT}/compose.env`;

/** Secrets of the API and its services; every one has an upstream development fallback, so every one is required. */
export const SECRET_KEYS = ['JWT_SECRET', 'ENCRYPTION_KEY', 'POSTGRES_PASSWORD', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'TURN_USERNAME', 'TURN_PASSWORD'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export interface GratoniteConfig {
  domain: string;
  hosts: { app: string; api: string; cdn: string };
  device: string;
  adminCidrs: string[];
  sshPort: number;
  tlsIssuer: 'acme' | 'local';
  acmeEmail: string;
  livekit: boolean;
  relay: { min: number; max: number };
  turnExternalIp: string;
  corsOrigin: string;
  images: { api: string; web: string; postgres: string; redis: string; minio: string; mc: string; livekit: string };
  tag: string;
  migrateCommand: string;
  migrationsBackwardCompatible: boolean;
  accessExpiry: string;
  refreshExpiry: string;
  secrets: Record<SecretKey, Secret>;
  healthDeadlineSeconds: number;
  rollbackTo: string;
  rollbackAcrossMigrations: boolean;
  check: { connectTo: string; caFile: string; timeoutSeconds: number; turnAddress: string; voiceAddress: string };
}

const hostName = (v: string) => (/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(v) ? null : `must be a DNS name such as chat.example.com, got "${v}"`);
const image = (v: string) => (/^[a-z0-9]([\w.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/.test(v) ? null : `must be an image name without a tag, got "${v}"`);
const imageRef = (v: string) => (/^[a-z0-9]([\w.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*(:[\w.-]{1,128})?(@sha256:[0-9a-f]{64})?$/.test(v) ? null : `must be an image reference such as postgres:16, got "${v}"`);
const tag = (v: string) => (/^[\w][\w.-]{0,127}$/.test(v) ? null : `must be an image tag, got "${v}"`);
const yesNo = checks.oneOf('yes', 'no');
const hostPort = checks.hostPort;
/** A secret; its example is published with the runbook, so it is refused like a development default. */
const sec = (description: string, example: string, check: (v: string) => string | null): VarSpec => ({ description, example, secret: true, check: (v) => (v === example ? 'is the published example value (generate one: runbook run gratonite.secrets)' : check(v)) });

/** CORS must be exactly the web app's public origin: no wildcard, no plain HTTP, nothing else. */
export function corsProblem(value: string, domain: string): string | null {
  const want = `https://app.${domain}`;
  const got = splitList(value, /\s*,\s*/);
  if (got.includes('*') || got.some((o) => o.includes('*'))) return 'CORS_ORIGIN holds "*": the API would accept any site\'s browser requests and websockets';
  const plain = got.filter((o) => o.startsWith('http://'));
  if (plain.length) return `CORS_ORIGIN holds ${plain.join(', ')}: plain HTTP origins are refused in production`;
  if (got.length !== 1 || got[0] !== want) return `CORS_ORIGIN must be exactly the public origin ${want}, got "${value}"`;
  return null;
}

export const gratoniteVars: Record<string, VarSpec> = {
  DOMAIN: { description: 'the domain whose app., api. and cdn. names point at this host', example: 'chat.example.com', check: hostName },
  DATA_DEVICE: { description: 'block device of the data volume; "auto" finds the one attached, unmounted, non-root disk', example: 'auto', default: 'auto', check: (v) => (v === 'auto' || /^\/dev\/[\w/.-]+$/.test(v) ? null : 'must be "auto" or a /dev path') },
  ADMIN_CIDRS: { description: 'admin CIDRs allowed to SSH (the same as base-host\'s OPERATOR_CIDRS; printed into the OCI security-list rules)', example: '198.51.100.0/24', check: checks.cidrList },
  SSH_PORT: { description: 'SSH port base-host admits from ADMIN_CIDRS', example: '22', default: '22', check: checks.int(1, 65535) },
  TLS_ISSUER: { description: 'where certificates come from: "acme" (production) or "local" (Caddy\'s own CA, for tests; nothing else in the Caddyfile changes)', example: 'acme', default: 'acme', check: checks.oneOf('acme', 'local') },
  ACME_EMAIL: { description: 'contact address given to the ACME CA (required with TLS_ISSUER=acme)', example: 'ops@example.com', optional: true, check: (v) => (/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i.test(v) ? null : 'must be an e-mail address') },
  LIVEKIT_ENABLED: { description: 'run LiveKit (voice) and open 7880/tcp, 7881/tcp, 7882/udp', example: 'no', default: 'no', check: yesNo },
  TURN_RELAY_PORTS: { description: 'coturn relay UDP range (opened in the firewall; the seed forgets it)', example: '49152-49200', default: '49152-49200', check: (v) => (/^\d{4,5}-\d{4,5}$/.test(v) && +v.split('-')[0]! >= 1024 && +v.split('-')[0]! < +v.split('-')[1]! && +v.split('-')[1]! <= 65535 ? null : 'must be a range such as 49152-49200 (1024..65535)') },
  TURN_EXTERNAL_IP: { description: 'coturn external-ip: the public address, or "public/private" behind OCI\'s 1:1 NAT', example: '203.0.113.10/10.0.0.10', optional: true, check: (v) => (/^[\d.]+(\/[\d.]+)?$/.test(v) ? null : 'must be an IPv4 address or public/private') },
  CORS_ORIGIN: { description: 'browser and websocket origins the API accepts: exactly https://app.<DOMAIN>', example: 'https://app.chat.example.com' },
  API_IMAGE: { description: 'API image without tag (linux/arm64)', example: 'ghcr.io/gratonite/api', check: image },
  WEB_IMAGE: { description: 'web image without tag (linux/arm64)', example: 'ghcr.io/gratonite/web', check: image },
  GRATONITE_TAG: { description: 'image tag of the API and web to deploy', example: 'v1.4.2', check: tag },
  MIGRATE_COMMAND: { description: 'the API image\'s migration command, run once as a one-shot container (must be safe to re-run)', example: 'node dist/db/migrate.js', default: 'node dist/db/migrate.js', check: (v) => (/^[\w./: =-]+$/.test(v) ? null : 'must be a plain command (letters, digits, / . : = -)') },
  MIGRATIONS_BACKWARD_COMPATIBLE: { description: 'the migrations of GRATONITE_TAG keep the previous tag working (recorded with the deploy; rollback refuses to cross "no")', example: 'yes', default: 'no', check: yesNo },
  POSTGRES_IMAGE: { description: 'PostgreSQL image', example: 'postgres:16', default: 'postgres:16', check: imageRef },
  REDIS_IMAGE: { description: 'Redis image', example: 'redis:7', default: 'redis:7', check: imageRef },
  MINIO_IMAGE: { description: 'MinIO image', example: 'minio/minio:RELEASE.2025-04-22T22-12-26Z', default: 'minio/minio:RELEASE.2025-04-22T22-12-26Z', check: imageRef },
  MC_IMAGE: { description: 'MinIO client image (creates the bucket)', example: 'minio/mc:RELEASE.2025-04-16T18-13-26Z', default: 'minio/mc:RELEASE.2025-04-16T18-13-26Z', check: imageRef },
  LIVEKIT_IMAGE: { description: 'LiveKit server image', example: 'livekit/livekit-server:v1.8.4', default: 'livekit/livekit-server:v1.8.4', check: imageRef },
  JWT_ACCESS_TOKEN_EXPIRY: { description: 'access token lifetime', example: '15m', default: '15m', check: (v) => (/^\d+[smhd]$/.test(v) ? null : 'must be like 15m') },
  JWT_REFRESH_TOKEN_EXPIRY: { description: 'refresh token lifetime', example: '7d', default: '7d', check: (v) => (/^\d+[smhd]$/.test(v) ? null : 'must be like 7d') },
  JWT_SECRET: sec('JWT signing secret: at least 64 characters of high entropy', 'qJ4vR8nZ2wXcT6yLp0sK9dF3hG7mB1aE5uN8rW2zQ4xC6vY0tP3kL9jH7gS1fD5bM8nR2wE4qT6yU0iO3pA7sD9fG1hJ5kL8', secretChecks.jwt),
  ENCRYPTION_KEY: sec('encryption key: exactly 32 bytes of random key material', 'Zk3Qw9Rt7Yp2Lm5Xc8Vb1Nh4Jd6Fg0Sa', secretChecks.encryptionKey),
  POSTGRES_PASSWORD: sec('PostgreSQL password of the gratonite user', 'Pq7Wm2Xz9Lk4Rt8Vn3Bc6Hy1Jd5Fs0Ga7Ek2Tu9', secretChecks.other('POSTGRES_PASSWORD', 24)),
  MINIO_ACCESS_KEY: sec('MinIO access key (root user)', 'grKf8Wq2Mz7Xp4Lr9Tn3Vb6', secretChecks.other('MINIO_ACCESS_KEY', 16)),
  MINIO_SECRET_KEY: sec('MinIO secret key', 'Mx4Qp8Wz2Lr7Tn5Vb9Kc3Hy6Jd1Fs0Ga4Ek8Tu2Zw7Xq5N', secretChecks.other('MINIO_SECRET_KEY', 32)),
  LIVEKIT_API_KEY: sec('LiveKit API key', 'APIr7Kq2Wm9Xz4Lp8Tn3Vb', secretChecks.other('LIVEKIT_API_KEY', 16)),
  LIVEKIT_API_SECRET: sec('LiveKit API secret', 'Lk9Qw3Rt7Yp1Xm5Zc8Vb2Nh4Jd6Fg0Sa3Ek7Tu1Wz9Xq5Pn', secretChecks.other('LIVEKIT_API_SECRET', 32)),
  TURN_USERNAME: sec('TURN long-term credential user name', 'turnQ7mX2pL9wR4tK8vN', secretChecks.other('TURN_USERNAME', 12)),
  TURN_PASSWORD: sec('TURN long-term credential password', 'Tz8Wq3Mx7Lp2Rk9Vn4Bc6Hy1Jd5Fs0Ga3Ek7Tu', secretChecks.other('TURN_PASSWORD', 24)),
  HEALTH_DEADLINE_SECONDS: { description: 'how long each bring-up gate waits before it stops the bring-up', example: '180', default: '180', check: checks.int(10, 3600) },
  ROLLBACK_TO: { description: 'the deploy gratonite.rollback goes back to: "previous" or a recorded tag', example: 'previous', default: 'previous', check: (v) => (v === 'previous' ? null : tag(v)) },
  ROLLBACK_ACROSS_MIGRATIONS: { description: 'let rollback cross a deploy whose migrations are not marked backward compatible (the older API may not read the newer schema)', example: 'no', default: 'no', check: yesNo },
  CHECK_CONNECT_TO: { description: 'gates and smoke connect to this host:port for every public name instead of DNS (like curl --connect-to); empty: DNS and 443', example: '127.0.0.1:8443', optional: true, check: hostPort },
  CHECK_CA_FILE: { description: 'PEM file of the CA the checks trust besides the system\'s (the local CA with TLS_ISSUER=local)', example: './caddy-root.crt', optional: true, check: (v) => (/^[^\0]+\.(crt|pem)$/.test(v) ? null : 'must be a .crt or .pem file') },
  CHECK_TIMEOUT_SECONDS: { description: 'bound of each smoke check', example: '20', default: '20', check: checks.int(2, 600) },
  CHECK_TURN_ADDRESS: { description: 'host:port the TURN check allocates on (default api.<DOMAIN>:3478)', example: 'api.chat.example.com:3478', optional: true, check: hostPort },
  CHECK_VOICE_ADDRESS: { description: 'host:port of LiveKit\'s HTTP port the voice check connects to (default api.<DOMAIN>:7880)', example: 'api.chat.example.com:7880', optional: true, check: hostPort },
};

const build = (v: Values): GratoniteConfig => {
  const domain = str(v, 'DOMAIN');
  const problems: string[] = [];
  const cors = corsProblem(str(v, 'CORS_ORIGIN'), domain);
  if (cors) problems.push(cors);
  const issuer = str(v, 'TLS_ISSUER') as 'acme' | 'local';
  if (issuer === 'acme' && !str(v, 'ACME_EMAIL')) problems.push('TLS_ISSUER=acme needs ACME_EMAIL (the ACME account\'s contact)');
  if (problems.length) throw new RunbookError('config', problems.join('\n  '), { hint: 'edit the env file and re-run; nothing was started' });
  const [min, max] = str(v, 'TURN_RELAY_PORTS').split('-').map(Number) as [number, number];
  const secrets = Object.fromEntries(SECRET_KEYS.map((k) => [k, secret(v, k)])) as Record<SecretKey, Secret>;
  return {
    domain,
    hosts: { app: `app.${domain}`, api: `api.${domain}`, cdn: `cdn.${domain}` },
    device: str(v, 'DATA_DEVICE'),
    adminCidrs: splitList(str(v, 'ADMIN_CIDRS')),
    sshPort: Number(str(v, 'SSH_PORT')),
    tlsIssuer: issuer,
    acmeEmail: str(v, 'ACME_EMAIL'),
    livekit: str(v, 'LIVEKIT_ENABLED') === 'yes',
    relay: { min, max },
    turnExternalIp: str(v, 'TURN_EXTERNAL_IP'),
    corsOrigin: str(v, 'CORS_ORIGIN'),
    images: { api: str(v, 'API_IMAGE'), web: str(v, 'WEB_IMAGE'), postgres: str(v, 'POSTGRES_IMAGE'), redis: str(v, 'REDIS_IMAGE'), minio: str(v, 'MINIO_IMAGE'), mc: str(v, 'MC_IMAGE'), livekit: str(v, 'LIVEKIT_IMAGE') },
    tag: str(v, 'GRATONITE_TAG'),
    migrateCommand: str(v, 'MIGRATE_COMMAND'),
    migrationsBackwardCompatible: str(v, 'MIGRATIONS_BACKWARD_COMPATIBLE') === 'yes',
    accessExpiry: str(v, 'JWT_ACCESS_TOKEN_EXPIRY'),
    refreshExpiry: str(v, 'JWT_REFRESH_TOKEN_EXPIRY'),
    secrets,
    healthDeadlineSeconds: Number(str(v, 'HEALTH_DEADLINE_SECONDS')),
    rollbackTo: str(v, 'ROLLBACK_TO'),
    rollbackAcrossMigrations: str(v, 'ROLLBACK_ACROSS_MIGRATIONS') === 'yes',
    check: {
      connectTo: str(v, 'CHECK_CONNECT_TO'),
      caFile: str(v, 'CHECK_CA_FILE'),
      timeoutSeconds: Number(str(v, 'CHECK_TIMEOUT_SECONDS')),
      turnAddress: str(v, 'CHECK_TURN_ADDRESS') || `api.${domain}:3478`,
      voiceAddress: str(v, 'CHECK_VOICE_ADDRESS') || `api.${domain}:7880`,
    },
  };
};

export const gratoniteConfig = defineConfig<GratoniteConfig>(gratoniteVars, build);
