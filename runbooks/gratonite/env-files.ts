// The files Gratonite's containers, Caddy and coturn read, rendered from the config. The API and
// web env files carry the upstream examples' variables (apps/api/.env.production.example,
// apps/web's VITE_API_URL); every secret comes from the checked config, none from a default.
import { renderAsset } from '../../lib/core/assets.ts';
import { envText, type Values } from '../../lib/config/schema.ts';
import { Secret } from '../../lib/core/secret.ts';
import { type GratoniteConfig, SRV } from './config.ts';

export const DATA_DIR = `${SRV}/data`;
export const LOG_DIR = `${SRV}/logs/caddy`;
export const DB = { user: 'gratonite', name: 'gratonite' };
export const BUCKET = 'gratonite';

const s = (c: GratoniteConfig, k: keyof GratoniteConfig['secrets']) => c.secrets[k];

export const API_ENV_KEYS = ['PORT', 'NODE_ENV', 'DATABASE_URL', 'REDIS_URL', 'MINIO_ENDPOINT', 'MINIO_PORT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'MINIO_USE_SSL', 'MINIO_BUCKET', 'JWT_SECRET', 'JWT_ACCESS_TOKEN_EXPIRY', 'JWT_REFRESH_TOKEN_EXPIRY', 'ENCRYPTION_KEY', 'CORS_ORIGIN', 'CDN_BASE_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'LIVEKIT_URL', 'LIVEKIT_HTTP_URL', 'TURN_URL', 'TURN_USERNAME', 'TURN_PASSWORD'];

export function apiEnv(c: GratoniteConfig): string {
  const v: Values = {
    PORT: '4000',
    NODE_ENV: 'production',
    // The password goes into a URL: the generated ones are letters and digits, nothing to escape.
    DATABASE_URL: new Secret('DATABASE_URL', `postgres://${DB.user}:${encodeURIComponent(s(c, 'POSTGRES_PASSWORD').reveal())}@postgres:5432/${DB.name}`),
    REDIS_URL: 'redis://redis:6379',
    MINIO_ENDPOINT: 'minio',
    MINIO_PORT: '9000',
    MINIO_ACCESS_KEY: s(c, 'MINIO_ACCESS_KEY'),
    MINIO_SECRET_KEY: s(c, 'MINIO_SECRET_KEY'),
    MINIO_USE_SSL: 'false',
    MINIO_BUCKET: BUCKET,
    JWT_SECRET: s(c, 'JWT_SECRET'),
    JWT_ACCESS_TOKEN_EXPIRY: c.accessExpiry,
    JWT_REFRESH_TOKEN_EXPIRY: c.refreshExpiry,
    ENCRYPTION_KEY: s(c, 'ENCRYPTION_KEY'),
    CORS_ORIGIN: c.corsOrigin,
    CDN_BASE_URL: `https://${c.hosts.cdn}`,
    LIVEKIT_API_KEY: s(c, 'LIVEKIT_API_KEY'),
    LIVEKIT_API_SECRET: s(c, 'LIVEKIT_API_SECRET'),
    LIVEKIT_URL: `wss://${c.hosts.api}/livekit`,
    LIVEKIT_HTTP_URL: `https://${c.hosts.api}/livekit`,
    TURN_URL: `turn:${c.hosts.api}:3478`,
    TURN_USERNAME: s(c, 'TURN_USERNAME'),
    TURN_PASSWORD: s(c, 'TURN_PASSWORD'),
  };
  return envText(API_ENV_KEYS, v, '# Written by the gratonite runbook: the API\'s settings and secrets (mode 600, root).');
}

export const webEnv = (c: GratoniteConfig) => envText(['VITE_API_URL'], { VITE_API_URL: `https://${c.hosts.api}` }, '# Written by the gratonite runbook: the web app\'s settings.');

export const statefulEnv = (c: GratoniteConfig) =>
  envText(
    ['POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'MINIO_BUCKET'],
    { POSTGRES_USER: DB.user, POSTGRES_DB: DB.name, POSTGRES_PASSWORD: s(c, 'POSTGRES_PASSWORD'), MINIO_ROOT_USER: s(c, 'MINIO_ACCESS_KEY'), MINIO_ROOT_PASSWORD: s(c, 'MINIO_SECRET_KEY'), MINIO_BUCKET: BUCKET },
    '# Written by the gratonite runbook: PostgreSQL\'s and MinIO\'s settings (mode 600, root).',
  );

export const livekitEnv = (c: GratoniteConfig) => envText(['LIVEKIT_KEYS'], { LIVEKIT_KEYS: new Secret('LIVEKIT_KEYS', `${s(c, 'LIVEKIT_API_KEY').reveal()}: ${s(c, 'LIVEKIT_API_SECRET').reveal()}`) }, '# Written by the gratonite runbook: LiveKit\'s API key (mode 600, root).');

/** compose interpolation: images with the tags being deployed, the data directory. No secret. */
export function composeEnv(c: GratoniteConfig, tags: { api: string; web: string }): string {
  return envText(
    ['API_IMAGE', 'WEB_IMAGE', 'POSTGRES_IMAGE', 'REDIS_IMAGE', 'MINIO_IMAGE', 'MC_IMAGE', 'LIVEKIT_IMAGE', 'MIGRATE_COMMAND', 'DATA_DIR', 'COMPOSE_PROFILES'],
    {
      API_IMAGE: `${c.images.api}:${tags.api}`,
      WEB_IMAGE: `${c.images.web}:${tags.web}`,
      POSTGRES_IMAGE: c.images.postgres,
      REDIS_IMAGE: c.images.redis,
      MINIO_IMAGE: c.images.minio,
      MC_IMAGE: c.images.mc,
      LIVEKIT_IMAGE: c.images.livekit,
      MIGRATE_COMMAND: c.migrateCommand,
      DATA_DIR,
      COMPOSE_PROFILES: c.livekit ? 'livekit' : '',
    },
    '# Written by the gratonite runbook: images, tags and paths for compose\'s interpolation.',
  );
}

export const caddyfile = (c: GratoniteConfig) =>
  renderAsset('runbooks/gratonite/files/Caddyfile', {
    ISSUER: c.tlsIssuer === 'acme' ? `email ${c.acmeEmail}` : 'local_certs\n\tskip_install_trust',
    LOG_DIR,
    APP_HOST: c.hosts.app,
    API_HOST: c.hosts.api,
    CDN_HOST: c.hosts.cdn,
    LIVEKIT_ROUTE: c.livekit ? 'handle_path /livekit/* {\n\t\treverse_proxy 127.0.0.1:7880\n\t}' : '# LiveKit disabled',
  });

export const turnConf = (c: GratoniteConfig) =>
  renderAsset('runbooks/gratonite/files/turnserver.conf', {
    RELAY_MIN: String(c.relay.min),
    RELAY_MAX: String(c.relay.max),
    EXTERNAL_IP: c.turnExternalIp ? `external-ip=${c.turnExternalIp}` : '# external-ip: not set (TURN_EXTERNAL_IP)',
    REALM: c.domain,
    TURN_USERNAME: s(c, 'TURN_USERNAME').reveal(),
    TURN_PASSWORD: s(c, 'TURN_PASSWORD').reveal(),
  });
