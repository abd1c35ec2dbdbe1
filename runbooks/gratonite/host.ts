// The host under Gratonite: the data volume, Docker, the firewall, Caddy and coturn from Debian's
// packages, and the compose file with its env files (mode 600).
import { write } from '../../lib/core/cmd.ts';
import { readAsset } from '../../lib/core/assets.ts';
import type { Step } from '../../lib/engine/types.ts';
import { filesStep, packagesStep } from '../../lib/steps/common.ts';
import { dockerSteps } from '../../lib/steps/docker.ts';
import { volumeSteps } from '../../lib/steps/volume.ts';
import { COMPOSE_ENV, COMPOSE_FILE, type GratoniteConfig, OPT, SRV } from './config.ts';
import { DATA_DIR, LOG_DIR, apiEnv, caddyfile, composeEnv, livekitEnv, statefulEnv, turnConf, webEnv } from './env-files.ts';
import { firewallSteps } from './firewall.ts';
import { gCmds } from './commands.ts';

export const CONTAINERS = ['gratonite-postgres-1', 'gratonite-redis-1', 'gratonite-minio-1', 'gratonite-api-1', 'gratonite-web-1'];

export const composeFiles = (c: GratoniteConfig) => [
  { path: COMPOSE_FILE, content: readAsset('compose/gratonite/compose.yaml'), mode: '0644' },
  { path: COMPOSE_ENV, content: composeEnv(c, { api: c.tag, web: c.tag }), mode: '0600' },
  { path: `${OPT}/api.env`, content: apiEnv(c), mode: '0600', secret: true },
  { path: `${OPT}/web.env`, content: webEnv(c), mode: '0600' },
  { path: `${OPT}/stateful.env`, content: statefulEnv(c), mode: '0600', secret: true },
  { path: `${OPT}/livekit.env`, content: livekitEnv(c), mode: '0600', secret: true },
];

export function hostSteps(): Step<GratoniteConfig>[] {
  return [
    ...volumeSteps<GratoniteConfig>({ prefix: 'volume', mountPoint: SRV, label: 'gratonite-data', deviceVar: 'DATA_DEVICE', device: (c) => c.device }),
    ...dockerSteps<GratoniteConfig>({ prefix: 'docker', containers: () => CONTAINERS, dataMounts: [SRV] }),
    ...firewallSteps(),
    packagesStep('gratonite.packages', ['caddy', 'coturn', 'curl']),
    {
      id: 'gratonite.dirs',
      title: `Data and log folders on the volume (${SRV})`,
      doc: `PostgreSQL, Redis and MinIO keep their data under ${DATA_DIR}, Caddy its access logs under ${LOG_DIR} (owned by caddy), all on the block volume.`,
      async check({ exec }) {
        const r = await exec.run(gCmds.readFile(`${SRV}/.gratonite-layout`));
        return r.exitCode === 0 ? { done: true, reason: 'folders made' } : { done: false, reason: 'folders not made yet' };
      },
      async apply({ exec }) {
        await exec.run(write(['install', '-d', '-m', '0755', `${DATA_DIR}/postgres`, `${DATA_DIR}/redis`, `${DATA_DIR}/minio`, `${SRV}/logs`]));
        await exec.run(write(['install', '-d', '-m', '0750', '-o', 'caddy', '-g', 'caddy', LOG_DIR]));
        await exec.run(write(['install', '-m', '0644', '/dev/null', `${SRV}/.gratonite-layout`]));
      },
    },
    filesStep({
      id: 'gratonite.caddy',
      title: 'Caddy: app., api., cdn. over HTTPS with redirects and HSTS',
      doc: 'Writes /etc/caddy/Caddyfile (TLS from ACME, or the local CA with `TLS_ISSUER=local`: the only line that differs), checks it with `caddy validate`, reloads Caddy. The API and web answer on 127.0.0.1 only; Caddy is the one way in.',
      files: (c) => [{ path: '/etc/caddy/Caddyfile', content: caddyfile(c), mode: '0644' }],
      validate: () => [write(['caddy', 'validate', '--adapter', 'caddyfile', '--config', '/etc/caddy/Caddyfile'], { timeoutMs: 60_000 })],
      after: () => [write(['systemctl', 'enable', 'caddy.service']), write(['systemctl', 'reload-or-restart', 'caddy.service'])],
    }),
    filesStep({
      id: 'gratonite.coturn',
      title: 'coturn: TURN on 3478 (UDP and TCP) with the relay range and the TURN credential',
      doc: 'Writes /etc/turnserver.conf (mode 0640, root:turnserver: it holds the credential) with the relay range of `TURN_RELAY_PORTS`, then enables and restarts coturn.',
      files: (c) => [{ path: '/etc/turnserver.conf', content: turnConf(c), mode: '0640', owner: 'root', group: 'turnserver', secret: true }],
      after: () => [write(['systemctl', 'enable', 'coturn.service']), write(['systemctl', 'restart', 'coturn.service'])],
    }),
    filesStep({
      id: 'gratonite.files',
      title: 'Compose file and env files (secrets mode 600, root)',
      doc: `${COMPOSE_FILE}, compose.env (images and tags), and the API's, web's, stateful services' and LiveKit's env files, each mode 600. Every secret comes from the checked config.`,
      files: composeFiles,
      keepSecrets: { path: `${OPT}/api.env`, keys: ['JWT_SECRET', 'ENCRYPTION_KEY'], dropAllowed: () => false, hint: 'set every secret in the env file' },
    }),
  ];
}
