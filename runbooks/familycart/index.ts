import { title } from './catalog.ts';
import type { Runbook } from '../../lib/engine/types.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { type AppConfig, type StatefulConfig, appConfig, statefulConfig } from './config.ts';
import { composeEnv, rollbackStep } from './deploy.ts';
import { restoreSteps } from './restore.ts';
import { type SmokeConfig, smokeConfig, smokeStep } from './smoke.ts';
import { roleUserData } from './user-data.ts';
import { baseHostConfig } from '../base-host/index.ts';
import { exampleValues } from '../../lib/config/schema.ts';
import { appEnv, appSteps, cfUnit, nginxSite, statefulComposeEnv, statefulEnv, statefulRules, statefulSteps } from './hosts.ts';

const SEED = 'familycart-oci-free-tier.md';

const DEVIATIONS = [
  'The seed\'s refresh script rewrote the whole `/etc/nftables.conf` (dropping Docker\'s forwarding) and trusted any answer. `cf-allowlist` validates every answer (status, `success`, strict CIDRs, no short prefixes, a bound on change), swaps only the sets of the runbooks\' own table in one transaction, and keeps the last good list loaded otherwise.',
  'Docker-published ports skip the input chain the seed filters: a forward chain of the runbooks\' table admits only Cloudflare to them (and only the app host to PostgreSQL/Redis on the stateful host).',
  'nginx trusts `CF-Connecting-IP` only from Cloudflare\'s ranges (`set_real_ip_from`, generated from the same list), not from any source.',
  'The seed runs `redis-server --requirepass $REDIS_PASSWORD` and `redis-cli -a`, which put the password in `ps`: here it reaches Redis as configuration on stdin and redis-cli through `REDISCLI_AUTH`.',
  'The seed deploys `:latest`; deploys here go by commit SHA, refuse a non-arm64 image (the upstream images are amd64 only) and roll back by themselves. The backend\'s `/health` never checks the database, so it gates the process only; a degraded cache is a warning.',
  'The seed\'s `pg_dump | gzip` reported success on failure and kept dumps on the same VM: the dump runs inside the server\'s container with `pipefail`, is checked with `pg_restore --list`, and goes to Object Storage with `--no-overwrite` and a SHA-256 manifest.',
  'The seed\'s `version: "3.9"` key is gone (compose v2), and the seed\'s `ghcr.io/<yourorg>/familycart-*` names become `BACKEND_IMAGE`/`FRONTEND_IMAGE`.',
];

const cloudInitDoc = (role: 'stateful' | 'app') =>
  [
    `First boot of the ${role} host: base-host's user-data (admin account, SSH hardening, SSH only from \`OPERATOR_CIDRS\`, journald bounds, swap, unattended upgrades) plus the ${role} role's packages and the Docker engine enabled at boot, rendered from base-host's env file: \`runbook user-data familycart.${role} --env base-host.env\`.`,
    '',
    'No secret goes into user-data (instance metadata is readable by every process on the host), so the role itself (env files, containers, firewall rules, the deploy) comes after, over SSH: `runbook run familycart --target stateful=ssh://...,app=ssh://... --env familycart.env`, which finds the first boot\'s steps done.',
  ].join('\n');
const exampleBase = () => baseHostConfig.build(exampleValues(baseHostConfig));

export const stateful: Runbook<StatefulConfig> = {
  name: 'familycart.stateful',
  title: title('familycart.stateful'),
  seed: SEED,
  summary: 'Docker engine, the firewall that admits 5432/6379 only from the app host (input and forward paths), PostgreSQL 15 and Redis sized for 1 GB, published on the private address only, and the nightly dump timer. Run base-host first.',
  deviations: DEVIATIONS,
  config: statefulConfig,
  steps: statefulSteps,
  cloudInit: { template: 'cloud-init/base-host.yaml', config: baseHostConfig, vars: () => ({}), render: (c) => roleUserData('stateful', c) },
  cloudInitDoc: cloudInitDoc('stateful'),
  assets: (c) => [
    { kind: 'cloud-init', path: 'user-data', content: roleUserData('stateful', exampleBase()) },
    { kind: 'nftables', path: '20-familycart-stateful.nft', content: `table inet runbook {\n\tchain services {\n\t}\n}\n${statefulRules(c)}` },
    { kind: 'compose', path: 'stateful.yaml', content: readAsset('compose/familycart/stateful.yaml'), envFile: statefulComposeEnv(c), files: { 'stateful.env': statefulEnv(c) } },
    { kind: 'text', path: '/opt/familycart/compose.env', content: statefulComposeEnv(c) },
    { kind: 'systemd', path: 'familycart-backup.service', content: readAsset('systemd/familycart-backup.service') },
    { kind: 'systemd', path: 'familycart-backup.timer', content: renderAsset('systemd/familycart-backup.timer', { BACKUP_SCHEDULE: c.backupSchedule }) },
  ],
};

export const app: Runbook<AppConfig> = {
  name: 'familycart.app',
  title: title('familycart.app'),
  seed: SEED,
  summary: 'Docker engine, cf-allowlist with its daily timer, the firewall that admits 80/443 only from Cloudflare (input and forward paths), nginx trusting client addresses only from Cloudflare, and the backend and frontend at `FAMILYCART_SHA`, gated on health with automatic rollback. Run base-host first; the stateful host\'s private address is `STATEFUL_PRIVATE_IP`.',
  deviations: DEVIATIONS,
  config: appConfig,
  steps: appSteps,
  cloudInit: { template: 'cloud-init/base-host.yaml', config: baseHostConfig, vars: () => ({}), render: (c) => roleUserData('app', c) },
  cloudInitDoc: cloudInitDoc('app'),
  assets: (c) => [
    { kind: 'cloud-init', path: 'user-data', content: roleUserData('app', exampleBase()) },
    { kind: 'nftables', path: '20-familycart-app.nft', content: `table inet runbook {\n\tchain services {\n\t}\n}\n${readAsset('nftables/familycart-app.nft')}` },
    { kind: 'compose', path: 'app.yaml', content: readAsset('compose/familycart/app.yaml'), envFile: composeEnv(c, c.sha), files: { 'app.env': appEnv(c) } },
    { kind: 'systemd', path: 'cf-allowlist.service', content: cfUnit(c) },
    { kind: 'systemd', path: 'cf-allowlist.timer', content: readAsset('systemd/cf-allowlist.timer') },
    { kind: 'text', path: '/etc/nginx/conf.d/familycart.conf', content: nginxSite(c) },
  ],
};

export const rollback: Runbook<AppConfig> = {
  name: 'familycart.rollback',
  title: title('familycart.rollback'),
  seed: SEED,
  summary: 'Points the app host at the SHA recorded before the live one (or `ROLLBACK_TO`), with the same arm64 and health gates as a deploy.',
  config: appConfig,
  steps: () => [rollbackStep()],
};

export const smoke: Runbook<SmokeConfig> = {
  name: 'familycart.smoke',
  title: title('familycart.smoke'),
  seed: SEED,
  summary: 'Runs from the operator\'s machine (`--target local`), through the public name: the frontend answers 200, the backend\'s /health says healthy, and `SMOKE_DATA_PATH` answers 200, which proves the backend reached PostgreSQL and Redis over the private link (its /health never checks the database).',
  config: smokeConfig,
  steps: () => [smokeStep()],
};

/**
 * Why the backup unit failed, from its last journal lines: the script's own line when it wrote one,
 * else systemd's (e.g. a sandbox set-up error), without its closing "Failed to start" line.
 */
export function backupFailure(journal: string): string {
  const lines = journal.trim().split('\n').filter(Boolean);
  const own = lines.filter((l) => l.startsWith('familycart-backup: ')).at(-1);
  if (own) return own;
  const cause = lines.filter((l) => !/^(Starting|Failed to start) /.test(l)).slice(-2);
  return (cause.length ? cause : lines.slice(-1)).join('; ') || 'the unit failed and its journal is empty';
}

export const backup: Runbook<StatefulConfig> = {
  name: 'familycart.backup',
  title: title('familycart.backup'),
  seed: SEED,
  summary: 'Starts `familycart-backup.service` and waits for it: pg_dump -Fc inside the container, checked, SHA-256 manifest, uploaded with --no-overwrite, old local dumps rotated.',
  config: statefulConfig,
  steps: () => [
    {
      id: 'backup.run',
      title: 'Dump, check and upload',
      async check() {
        return { done: false, reason: 'a backup always runs' };
      },
      async apply({ exec }) {
        const r = await exec.probe(write(['systemctl', 'start', 'familycart-backup.service'], { timeoutMs: 6 * 3600_000 }));
        if (r.exitCode !== 0) {
          const j = await exec.run(read(['journalctl', '-u', 'familycart-backup.service', '-n', '8', '--no-pager', '-o', 'cat']));
          throw new RunbookError('stepFailed', `the backup failed: ${backupFailure(j.stdout)}`, { host: exec.host, hint: 'journalctl -u familycart-backup.service' });
        }
      },
      async verify() {},
    },
  ],
};

export const restore: Runbook<StatefulConfig> = {
  name: 'familycart.restore',
  title: title('familycart.restore'),
  seed: SEED,
  summary: 'Fetches the newest manifest and its dump from Object Storage, checks size, SHA-256 and that pg_restore can read it before touching anything, restores it in one transaction, and proves every table\'s row count and row checksum equal the ones recorded at backup time. Run familycart.stateful first on a fresh host.',
  config: statefulConfig,
  steps: restoreSteps,
};
