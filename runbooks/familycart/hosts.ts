// The steps of each FamilyCart host: the stateful one (PostgreSQL, Redis, nightly dump) and the
// app one (Cloudflare allowlist, firewall, nginx, the containers deployed by SHA).
import { read, write } from '../../lib/core/cmd.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { envText } from '../../lib/config/schema.ts';
import type { Step } from '../../lib/engine/types.ts';
import { filesStep, packagesStep } from '../../lib/steps/common.ts';
import { nftablesStep } from '../../lib/steps/nftables.ts';
import { dockerSteps } from '../../lib/steps/docker.ts';
import { type AppConfig, BACKUP_DIR, COMPOSE_ENV, OPT, type StatefulConfig, TOOLS } from './config.ts';
import { fcCmds } from './commands.ts';
import { deployStep } from './deploy.ts';

const elements = (l: string[]) => (l.length ? `elements = { ${l.join(', ')} }` : '');
const daemonReload = () => [write(['systemctl', 'daemon-reload'])];

export const statefulRules = (c: StatefulConfig) => renderAsset('nftables/familycart-stateful.nft', { APP_V4_ELEMENTS: elements(c.appCidrs.filter((x) => !x.includes(':'))) });
export const statefulEnv = (c: StatefulConfig) => envText(['POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD'], { POSTGRES_USER: c.postgresUser, POSTGRES_DB: c.postgresDb, POSTGRES_PASSWORD: c.postgresPassword, REDIS_PASSWORD: c.redisPassword }, '# Written by familycart.stateful: the containers\' settings (mode 600, root).');
export const statefulComposeEnv = (c: StatefulConfig) => envText(['PRIVATE_IP', 'POSTGRES_IMAGE', 'REDIS_IMAGE'], { PRIVATE_IP: c.privateIp, POSTGRES_IMAGE: c.postgresImage, REDIS_IMAGE: c.redisImage }, '# Written by familycart.stateful: compose interpolation.');
export const backupEnv = (c: StatefulConfig) => envText(['BACKUP_BUCKET', 'BACKUP_PREFIX', 'BACKUP_RETENTION_DAYS', 'OCI_CLI_AUTH'], { BACKUP_BUCKET: c.backupBucket, BACKUP_PREFIX: c.backupPrefix, BACKUP_RETENTION_DAYS: String(c.retentionDays), OCI_CLI_AUTH: c.ociAuth }, '# Read by familycart-backup.sh.');

export const appEnv = (c: AppConfig) =>
  envText(
    ['POSTGRES_SERVER', 'POSTGRES_PORT', 'POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'SECRET_KEY'],
    { POSTGRES_SERVER: c.statefulIp, POSTGRES_PORT: '5432', POSTGRES_USER: c.postgresUser, POSTGRES_DB: c.postgresDb, POSTGRES_PASSWORD: c.postgresPassword, REDIS_HOST: c.statefulIp, REDIS_PORT: '6379', REDIS_PASSWORD: c.redisPassword, SECRET_KEY: c.secretKey },
    '# Written by familycart.app: the containers\' settings (mode 600, root).',
  );
export const cfUnit = (c: AppConfig) => renderAsset('systemd/cf-allowlist.service', { CF_IPS_URL: c.cfIpsUrl });
export const nginxSite = (c: AppConfig) => renderAsset('runbooks/familycart/files/nginx-familycart.conf', { SERVER_NAMES: c.serverNames });

function timerStep<C>(id: string, timer: string): Step<C> {
  return {
    id,
    title: `${timer} enabled and waiting`,
    async check({ exec }) {
      const e = (await exec.run(read(['systemctl', 'is-enabled', timer], { okCodes: [0, 1] }))).stdout.trim();
      const a = (await exec.run(read(['systemctl', 'is-active', timer], { okCodes: [0, 3] }))).stdout.trim();
      return e === 'enabled' && a === 'active' ? { done: true, reason: 'enabled and active' } : { done: false, reason: `${timer} is ${e}/${a}` };
    },
    async apply({ exec }) {
      await exec.run(write(['systemctl', 'enable', '--now', timer]));
    },
  };
}


export function statefulSteps(): Step<StatefulConfig>[] {
  return [
    packagesStep('stateful.packages', ['jq', 'curl']),
    // Docker from the distribution, Compose v2, json-file logs rotated (merged into daemon.json), enabled at boot.
    ...dockerSteps<StatefulConfig>({ prefix: 'stateful.docker', containers: () => ['familycart-stateful-postgres-1', 'familycart-stateful-redis-1'] }),
    nftablesStep({
      id: 'stateful.firewall',
      title: 'Firewall: PostgreSQL and Redis only from the app host',
      doc: 'Adds `/etc/nftables.d/20-familycart-stateful.nft` to the base host\'s table: 5432/6379 from `APP_CIDRS` on the input path and on the forward path (the ports Docker publishes skip input). Needs base-host first.',
      file: '20-familycart-stateful.nft',
      content: statefulRules,
    }),
    filesStep({
      id: 'stateful.compose',
      title: 'Compose file and its env files (mode 600, root)',
      files: (c) => [
        { path: `${OPT}/stateful.yaml`, content: readAsset('compose/familycart/stateful.yaml'), mode: '0644' },
        { path: `${OPT}/stateful.env`, content: statefulEnv(c), mode: '0600', secret: true },
        { path: COMPOSE_ENV, content: statefulComposeEnv(c), mode: '0600' },
      ],
    }),
    {
      id: 'stateful.up',
      title: 'PostgreSQL and Redis up and healthy',
      doc: '`docker compose up -d --remove-orphans --wait`: returns once both health checks pass (bounded).',
      async check({ exec }) {
        // Before the compose step has written its files (a first run, or a dry run) there is nothing to ask.
        const files = await exec.run(read(['test', '-e', COMPOSE_ENV, '-a', '-e', `${OPT}/stateful.yaml`], { okCodes: [0, 1] }));
        if (files.exitCode !== 0) return { done: false, reason: 'not deployed yet (no compose files)' };
        const r = await exec.run(fcCmds.ps('stateful'));
        const rows = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as { Service: string; Health?: string; State: string });
        const ok = ['postgres', 'redis'].every((s) => rows.some((x) => x.Service === s && x.State === 'running' && x.Health === 'healthy'));
        return ok ? { done: true, reason: 'postgres and redis running and healthy' } : { done: false, reason: rows.length ? rows.map((x) => `${x.Service} ${x.State}/${x.Health ?? '-'}`).join(', ') : 'not running' };
      },
      async apply({ exec }) {
        await exec.run(fcCmds.pull('stateful'));
        await exec.run(fcCmds.up('stateful'));
      },
    },
    {
      id: 'stateful.backup-dir',
      title: `${BACKUP_DIR} (0700, root): the local dumps`,
      doc: 'The backup service may write only there (`ReadWritePaths`), and systemd refuses to start a unit whose `ReadWritePaths` folder is missing, so it is made before the service is installed.',
      async check({ exec }) {
        const r = await exec.run(read(['stat', '-c', '%a %U:%G', BACKUP_DIR], { okCodes: [0, 1] }));
        const have = r.exitCode === 0 ? r.stdout.trim() : 'missing';
        return have === '700 root:root' ? { done: true, reason: 'there, 0700 root' } : { done: false, reason: `${BACKUP_DIR}: ${have}` };
      },
      async apply({ exec }) {
        await exec.run(write(['install', '-d', '-m', '0700', '-o', 'root', '-g', 'root', BACKUP_DIR]));
      },
    },
    filesStep({
      id: 'stateful.backup',
      title: 'Nightly dump: script, settings, service and timer',
      files: (c) => [
        { path: `${TOOLS}/familycart-backup.sh`, content: readAsset('runbooks/familycart/files/familycart-backup.sh'), mode: '0755' },
        { path: `${TOOLS}/fingerprint.sql`, content: readAsset('runbooks/familycart/files/fingerprint.sql'), mode: '0644' },
        { path: `${OPT}/backup.env`, content: backupEnv(c), mode: '0600' },
        { path: '/etc/systemd/system/familycart-backup.service', content: readAsset('systemd/familycart-backup.service'), mode: '0644' },
        { path: '/etc/systemd/system/familycart-backup.timer', content: renderAsset('systemd/familycart-backup.timer', { BACKUP_SCHEDULE: c.backupSchedule }), mode: '0644' },
      ],
      after: daemonReload,
    }),
    timerStep('stateful.backup-timer', 'familycart-backup.timer'),
  ];
}

export function appSteps(): Step<AppConfig>[] {
  return [
    packagesStep('app.packages', ['nginx-light', 'nodejs', 'curl']),
    ...dockerSteps<AppConfig>({ prefix: 'app.docker', containers: () => ['familycart-app-backend-1', 'familycart-app-frontend-1'] }),
    filesStep({
      id: 'app.allowlist-tool',
      title: 'cf-allowlist, the shipped Cloudflare list, its service and daily timer',
      doc: 'The bundled `cf-allowlist` (Node 18+), the list recorded from Cloudflare (used only until a good one is fetched), and `cf-allowlist.service`/`.timer` (daily, and 2 minutes after boot).',
      files: (c) => [
        { path: `${TOOLS}/cf-allowlist.mjs`, content: readAsset('dist/familycart/cf-allowlist.mjs'), mode: '0755' },
        { path: `${TOOLS}/cloudflare-ips.json`, content: readAsset('runbooks/familycart/files/cloudflare-ips.json'), mode: '0644' },
        { path: '/etc/systemd/system/cf-allowlist.service', content: cfUnit(c), mode: '0644' },
        { path: '/etc/systemd/system/cf-allowlist.timer', content: readAsset('systemd/cf-allowlist.timer'), mode: '0644' },
      ],
      after: daemonReload,
    }),
    {
      id: 'app.allowlist',
      title: 'Cloudflare sets loaded (last good list, or the shipped one)',
      doc: '`cf-allowlist load`: when the sets are missing or empty, loads the last good list, or the shipped one on a host that never fetched one (and says so). The timer fetches the real list.',
      async check({ exec }) {
        const r = await exec.run(read(['nft', 'list', 'set', 'inet', 'runbook', 'cf_v4'], { okCodes: [0, 1] }));
        return r.exitCode === 0 && /elements = \{/.test(r.stdout) ? { done: true, reason: 'cf_v4 holds elements' } : { done: false, reason: 'the Cloudflare sets are not loaded' };
      },
      async apply({ exec, log }) {
        const r = await exec.run(write(['node', `${TOOLS}/cf-allowlist.mjs`, 'load', '--nginx-file', '/etc/nginx/conf.d/cloudflare-realip.conf'], { timeoutMs: 120_000 }));
        if (r.stdout.trim()) log(r.stdout.trim());
      },
    },
    nftablesStep({
      id: 'app.firewall',
      title: 'Firewall: 80/443 only from Cloudflare, on the input and forward paths',
      doc: 'Adds `/etc/nftables.d/20-familycart-app.nft`: nginx\'s 80/443 and every port Docker publishes admit only the Cloudflare sets (a forward chain of the runbooks\' table, which Docker\'s accept cannot override). Needs base-host first.',
      file: '20-familycart-app.nft',
      content: () => readAsset('nftables/familycart-app.nft'),
    }),
    {
      id: 'app.nginx-default-off',
      title: 'The distribution\'s default nginx site disabled',
      doc: 'Removes the `/etc/nginx/sites-enabled/default` link (the site stays in `sites-available`). It claims `default_server` on port 80 too, so the FamilyCart site would fail `nginx -t` beside it: it goes before the site is written and validated.',
      async check({ exec }) {
        const r = await exec.run(read(['test', '-e', '/etc/nginx/sites-enabled/default', '-o', '-L', '/etc/nginx/sites-enabled/default'], { okCodes: [0, 1] }));
        return r.exitCode === 0 ? { done: false, reason: 'sites-enabled/default is there' } : { done: true, reason: 'no default site enabled' };
      },
      async apply({ exec }) {
        await exec.run(write(['rm', '-f', '/etc/nginx/sites-enabled/default']));
      },
    },
    filesStep({
      id: 'app.nginx',
      title: 'nginx in front: the site, client addresses trusted only from Cloudflare',
      files: (c) => [{ path: '/etc/nginx/conf.d/familycart.conf', content: nginxSite(c), mode: '0644' }],
      validate: () => [read(['nginx', '-t', '-q'])],
      after: () => [write(['systemctl', 'enable', 'nginx.service']), write(['systemctl', 'reload-or-restart', 'nginx.service'])],
    }),
    filesStep({
      id: 'app.compose',
      title: 'Compose file and the containers\' env file (mode 600, root)',
      files: (c) => [
        { path: `${OPT}/app.yaml`, content: readAsset('compose/familycart/app.yaml'), mode: '0644' },
        { path: `${OPT}/app.env`, content: appEnv(c), mode: '0600', secret: true },
      ],
    }),
    deployStep(),
    timerStep('app.allowlist-timer', 'cf-allowlist.timer'),
  ];
}
