// FamilyCart's commands as data (pure, tested on exact argv) and the parsers of what they print.
import { read, write } from '../../lib/core/cmd.ts';
import type { Secret } from '../../lib/core/secret.ts';
import { COMPOSE_ENV, OPT, STATE } from './config.ts';

export type Role = 'app' | 'stateful';
export const DEPLOY_STATE = `${STATE}/deploy.json`;

const compose = (role: Role, args: string[], o: { write: boolean; timeoutMs?: number }) => {
  const argv = ['docker', 'compose', '--project-directory', OPT, '--env-file', COMPOSE_ENV, '-f', `${OPT}/${role}.yaml`, ...args];
  return o.write ? write(argv, { timeoutMs: o.timeoutMs }) : read(argv, { timeoutMs: o.timeoutMs });
};

export const fcCmds = {
  /** The token only ever on stdin. */
  login: (registry: string, user: string, password: Secret) => write(['docker', 'login', '--username', user, '--password-stdin', registry], { stdin: password, timeoutMs: 60_000 }),
  /**
   * Only the images this host lacks: the tags are pinned (a commit SHA, a database version), so an
   * image already here is the one the tag names, and a host whose registry is unreachable can
   * still (re)start what it has. Compose 2.22 and later.
   */
  pull: (role: Role) => compose(role, ['pull', '--quiet', '--policy', 'missing'], { write: true, timeoutMs: 20 * 60_000 }),
  /** Bounded: the healthchecks' start periods and retries call a service unhealthy well before it. */
  up: (role: Role) => compose(role, ['up', '-d', '--remove-orphans', '--wait', '--wait-timeout', '600'], { write: true, timeoutMs: 12 * 60_000 }),
  upNoWait: (role: Role) => compose(role, ['up', '-d', '--remove-orphans'], { write: true, timeoutMs: 10 * 60_000 }),
  ps: (role: Role) => compose(role, ['ps', '--format', 'json'], { write: false }),
  /** The pulled image's platform, as docker resolved it for this host. */
  platform: (image: string) => read(['docker', 'image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}', image], { okCodes: [0, 1] }),
  backendHealth: () => read(['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:8000/health'], { okCodes: [0, 6, 7, 22, 28, 52, 56] }),
  frontendStatus: () => read(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:3000/'], { okCodes: [0, 6, 7, 22, 28, 52, 56] }),
  readState: () => read(['cat', '--', DEPLOY_STATE], { okCodes: [0, 1] }),
  /** pg_dump inside the server's own container (a 15 server needs a 15 client), custom format. */
  pgDump: () => compose('stateful', ['exec', '-T', 'postgres', 'sh', '-c', 'exec pg_dump -Fc -U "$POSTGRES_USER" "$POSTGRES_DB"'], { write: false, timeoutMs: 6 * 3600_000 }),
};

/** linux/arm64 (with or without the v8 variant) is the only platform an A1 host runs. */
export function platformProblem(image: string, out: string): string | null {
  const p = out.trim();
  if (p === 'linux/arm64' || p === 'linux/arm64/v8') return null;
  return `${image} is ${p || 'not present after the pull'}, not linux/arm64: the upstream FamilyCart images are built for amd64 only; build and push arm64 images (docker buildx build --platform linux/arm64) tagged with this SHA`;
}

export interface Health {
  ok: boolean;
  warning?: string;
  reason: string;
}

/**
 * The backend's GET /health: 200 {"status":"healthy", ..., "checks":{"cache":"healthy"|"degraded"}}.
 * A degraded cache is a warning, not a failure. It never checks the database, so a pass here says
 * the process is up, not that PostgreSQL is reachable (the smoke check proves that).
 */
export function parseHealth(body: string): Health {
  let j: { status?: unknown; checks?: { cache?: unknown } };
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    return { ok: false, reason: `/health did not answer JSON (${body.trim().slice(0, 80) || 'no answer'})` };
  }
  if (j.status !== 'healthy') return { ok: false, reason: `/health status is ${JSON.stringify(j.status)}` };
  const cache = j.checks?.cache;
  if (cache === 'degraded') return { ok: true, warning: 'the backend reports its cache (Redis) degraded', reason: 'healthy, cache degraded' };
  return { ok: true, reason: `healthy${cache ? `, cache ${String(cache)}` : ''}` };
}

export interface DeployState {
  current?: string;
  previous?: string;
}

export function parseState(text: string): DeployState {
  try {
    const j = JSON.parse(text) as DeployState;
    const sha = (s: unknown) => (typeof s === 'string' && /^[0-9a-f]{7,40}$/.test(s) ? s : undefined);
    return { current: sha(j.current), previous: sha(j.previous) };
  } catch {
    return {};
  }
}

/** The state after `sha` is live: the one it replaced becomes the previous (a re-deploy keeps it). */
export function nextState(s: DeployState, sha: string): DeployState {
  if (s.current === sha) return s;
  return { current: sha, previous: s.current ?? s.previous };
}
