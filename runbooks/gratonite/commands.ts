// Gratonite's host commands as data (pure, tested on exact argv) and the parsers of what they print.
import { read, write } from '../../lib/core/cmd.ts';
import { COMPOSE_ENV, COMPOSE_FILE, OPT, STATE } from './config.ts';

export const STATEFUL = ['postgres', 'redis', 'minio'] as const;
export const DEPLOYS = `${STATE}/deploys.json`;
export const MIGRATED = `${STATE}/migrated`;
export const SNAPSHOTS = `${STATE}/snapshots`;
/** The files a deploy snapshot keeps: the env files and the tags (compose.env). */
export const SNAPSHOT_FILES = ['api.env', 'web.env', 'compose.env'] as const;

const compose = (args: string[], o: { write: boolean; timeoutMs?: number; okCodes?: number[] }) => {
  const argv = ['docker', 'compose', '--project-directory', OPT, '--env-file', COMPOSE_ENV, '-f', COMPOSE_FILE, ...args];
  return o.write ? write(argv, { timeoutMs: o.timeoutMs, okCodes: o.okCodes }) : read(argv, { timeoutMs: o.timeoutMs, okCodes: o.okCodes });
};
const curlCodes = [0, 6, 7, 22, 28, 52, 56];

export const gCmds = {
  pull: (services: string[]) => compose(['pull', '--quiet', ...services], { write: true, timeoutMs: 20 * 60_000 }),
  upStateful: (waitSeconds: number) => compose(['up', '-d', '--wait', '--wait-timeout', String(waitSeconds), ...STATEFUL], { write: true, timeoutMs: (waitSeconds + 120) * 1000, okCodes: [0, 1] }),
  initBucket: () => compose(['run', '--rm', '--no-TTY', 'minio-init'], { write: true, timeoutMs: 5 * 60_000, okCodes: [0, 1, 2, 125] }),
  /** The one-shot migration; any exit code comes back so the gate can say what it was. */
  migrate: () => compose(['run', '--rm', '--no-TTY', 'migrate'], { write: true, timeoutMs: 30 * 60_000, okCodes: Array.from({ length: 256 }, (_, i) => i) }),
  /** Starts one service without touching the ones it depends on (each has its own gate). */
  up: (service: string) => compose(['up', '-d', '--no-deps', service], { write: true, timeoutMs: 10 * 60_000 }),
  restart: (services: string[]) => compose(['up', '-d', '--no-deps', '--force-recreate', ...services], { write: true, timeoutMs: 10 * 60_000 }),
  // Exit 1 when the compose file is not there yet (a dry run on a fresh host): no services.
  ps: () => compose(['ps', '--all', '--format', 'json'], { write: false, okCodes: [0, 1] }),
  logs: (service: string) => compose(['logs', '--no-color', '--tail', '20', service], { write: false, okCodes: [0, 1] }),
  apiHealth: () => read(['curl', '-sS', '--max-time', '5', '-w', '\\n%{http_code}', 'http://127.0.0.1:4000/health'], { okCodes: curlCodes }),
  webStatus: () => read(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8080/'], { okCodes: curlCodes }),
  readFile: (path: string) => read(['cat', '--', path], { okCodes: [0, 1] }),
  sha256: (paths: string[]) => read(['sha256sum', '--', ...paths], { okCodes: [0, 1] }),
  snapshot: (id: number) => write(['install', '-d', '-m', '0700', `${SNAPSHOTS}/${id}`]),
  copy: (from: string, to: string) => write(['cp', '--preserve=mode,ownership', '--', from, to]),
};

/** The next command an operator types, shown in every stopped gate. */
export const composeHint = (what: string) => `docker compose --project-directory ${OPT} --env-file ${COMPOSE_ENV} -f ${COMPOSE_FILE} ${what}`;

export interface PsRow {
  Service: string;
  State: string;
  Health?: string;
  Image?: string;
  ExitCode?: number;
}

/** `compose ps --format json`: one JSON object a line (v2.21+) or one array (older v2). */
export function parsePs(stdout: string): PsRow[] {
  const t = stdout.trim();
  if (!t) return [];
  if (t.startsWith('[')) return JSON.parse(t) as PsRow[];
  return t.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as PsRow);
}

export const describePs = (rows: PsRow[], services: readonly string[]) =>
  services.map((s) => {
    const r = rows.find((x) => x.Service === s);
    return r ? `${s} ${r.State}${r.Health ? `/${r.Health}` : ''}` : `${s} not created`;
  }).join(', ');

/** The API's /health (curl prints the body, a newline, then the status): 200 and status "ok". */
export function parseApiHealth(stdout: string, exitCode: number, stderr: string): { ok: boolean; saw: string } {
  if (exitCode !== 0) return { ok: false, saw: `no answer on 127.0.0.1:4000 (${stderr.trim() || `curl exit ${exitCode}`})` };
  const i = stdout.lastIndexOf('\n');
  const status = stdout.slice(i + 1).trim();
  const body = stdout.slice(0, i).trim();
  let s: unknown;
  try {
    s = (JSON.parse(body) as { status?: unknown }).status;
  } catch {
    s = undefined;
  }
  if (status === '200' && s === 'ok') return { ok: true, saw: '200 status ok' };
  return { ok: false, saw: `${status} ${body.slice(0, 120)}` };
}
