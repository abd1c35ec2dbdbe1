import { title } from './catalog.ts';
import type { RenderedAsset, Runbook } from '../../lib/engine/types.ts';
import { readAsset } from '../../lib/core/assets.ts';
import { bringUpSteps } from './bringup.ts';
import { type GratoniteConfig, gratoniteConfig } from './config.ts';
import { apiEnv, caddyfile, composeEnv, livekitEnv, statefulEnv, webEnv } from './env-files.ts';
import { firewallRules } from './firewall.ts';
import { hostSteps } from './host.ts';
import { recordStep } from './record.ts';
import { rollbackSteps } from './rollback.ts';
import { smokeStep } from './smoke.ts';

export { secrets } from './generate.ts';

const SEED = 'gratonite-oci-runbook.md';

const DEVIATIONS = [
  'The seed\'s firewall list forgets coturn\'s relay range: without it TURN allocations succeed but no media flows. `TURN_RELAY_PORTS` (default 49152-49200) is opened on UDP, in nftables and in the printed security-list rules.',
  'Docker-published ports skip the input chain: the ruleset has a forward chain that admits only the public ports (and LiveKit\'s when enabled) to containers and drops the rest. The API (4000) and web (8080) are published on 127.0.0.1 only, for Caddy; PostgreSQL, Redis and MinIO are not published.',
  'The seed says "Ubuntu LTS VM" and "Nginx/Caddy": these runbooks target Debian ARM64 images and use Debian\'s caddy and coturn packages on the host.',
  'Every secret of the API falls back to a known development value when unset (upstream `env.ts`: `dev-secret-change-me-in-production-please-now`, `0123456789abcdef0123456789abcdef`, `gratonite`/`gratonite123`, `devkey`/`secret`): all of them are required here, refused when equal to a default or to this runbook\'s published example, and checked for length and entropy (JWT_SECRET >= 64 characters, ENCRYPTION_KEY exactly 32 bytes) before anything is written.',
  'ENCRYPTION_KEY is checked as exactly 32 bytes of the value itself, because the API\'s own default is a 32-character string; upstream\'s decoding of the key was not read, so a 64-hex-digit key is refused rather than guessed at.',
  'The seed\'s "strict CORS_ORIGIN to public domains" becomes: exactly `https://app.<DOMAIN>` (no `*`, no `http://`, nothing else), refused otherwise.',
  'The seed\'s "Run DB migrations" has no command: `MIGRATE_COMMAND` (default `node dist/db/migrate.js`) runs in a one-shot container of the API image, its exit code checked, and must be safe to re-run. Whether a release\'s migrations keep the previous one working is the operator\'s statement, `MIGRATIONS_BACKWARD_COMPATIBLE`, recorded with the deploy; rollback refuses to cross a "no" unless told to.',
  'The seed\'s rollback "clear stuck migration only if backward compatible" has no tool behind it: rollback restores image tags and env files only and never touches the database.',
  'The smoke\'s TURN check is a TURN Allocate written in the runbook (UDP and TCP, long-term credentials), not `turnutils_uclient`, which takes the password on its command line.',
  'The register/login, DM and upload routes the smoke uses are kept in one module (`smoke/routes.ts`); they follow the API\'s REST shape but, unlike /health and the files route, were not all read from upstream and must be confirmed against the real images.',
  'TURN over TLS (5349) is opened as the seed lists, but coturn needs a certificate for api.<DOMAIN> it can read; Caddy keeps its certificates in its own storage, so 5349 stays shut until one is provided.',
];

const assets = (c: GratoniteConfig): RenderedAsset[] => [
  { kind: 'nftables', path: '20-gratonite.nft', content: `table inet runbook {\n\tchain services {\n\t}\n}\n${firewallRules(c)}` },
  { kind: 'nftables', path: '20-gratonite.nft (LiveKit enabled)', content: `table inet runbook {\n\tchain services {\n\t}\n}\n${firewallRules({ ...c, livekit: true })}` },
  { kind: 'compose', path: '/opt/gratonite/compose.yaml', content: readAsset('compose/gratonite/compose.yaml'), envFile: composeEnv(c, { api: c.tag, web: c.tag }), files: { 'api.env': apiEnv(c), 'web.env': webEnv(c), 'stateful.env': statefulEnv(c), 'livekit.env': livekitEnv(c) } },
  { kind: 'text', path: '/etc/caddy/Caddyfile', content: caddyfile(c) },
];

export const bringUp: Runbook<GratoniteConfig> = {
  name: 'gratonite',
  title: title('gratonite'),
  seed: SEED,
  summary: 'Takes a base host to a running Gratonite: the block volume at /srv/gratonite (never reformatting one with data), Docker with rotated logs, nftables for 80/443, TURN and LiveKit (input and forward paths) and the matching OCI rules printed, Caddy (HTTPS for app., api., cdn.) and coturn from Debian, the env files (mode 600) after every secret passed its checks, then the seed\'s bring-up order with a gate per step: stateful healthy -> migrations -> API /health ok -> web -> websocket through Caddy -> upload and its public URL; the deploy is recorded (tags and env snapshot) for rollback. Run base-host first.',
  deviations: DEVIATIONS,
  config: gratoniteConfig,
  steps: () => [...hostSteps(), ...bringUpSteps(), recordStep()],
  assets,
};

export const smoke: Runbook<GratoniteConfig> = {
  name: 'gratonite.smoke',
  title: title('gratonite.smoke'),
  seed: SEED,
  summary: 'The seed\'s six checks against the public names, one line each; exit 1 naming each check that failed. Run it with `--target local` from a machine outside the host.',
  deviations: DEVIATIONS,
  apiOnly: true,
  config: gratoniteConfig,
  steps: () => [smokeStep()],
};

export const rollback: Runbook<GratoniteConfig> = {
  name: 'gratonite.rollback',
  title: title('gratonite.rollback'),
  seed: SEED,
  summary: 'Restores the recorded deploy\'s env files (their SHA-256 checked) and image tags, recreates only the API and web, gates both, refuses to cross migrations not marked backward compatible unless ROLLBACK_ACROSS_MIGRATIONS=yes, then runs the smoke checklist again from the machine running the runbook.',
  deviations: DEVIATIONS,
  config: gratoniteConfig,
  steps: rollbackSteps,
};
