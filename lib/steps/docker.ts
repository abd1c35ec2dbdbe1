// Docker on a host, as the compose systems (central-db, Gratonite) need it: the engine from the
// distribution, Compose v2, json-file logs rotated (merged into daemon.json), enabled at boot.
import { read, write } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { waitFor } from '../core/wait.ts';
import { ensureFile, fileCmds } from '../exec/files.ts';
import type { Executor } from '../exec/types.ts';
import type { Step } from '../engine/types.ts';
import { filesStep, packagesStep } from './common.ts';

/** The drop-in that holds Docker back at boot until the volumes its containers keep data on are mounted. */
export const MOUNTS_DROPIN = '/etc/systemd/system/docker.service.d/10-runbook-mounts.conf';
export const mountsDropIn = (mounts: string[]) =>
  `# Written by the runbooks: the containers keep their data under ${mounts.join(', ')}; without\n# this, Docker could start them at boot on the empty folder under an unmounted volume.\n[Unit]\nRequiresMountsFor=${mounts.join(' ')}\n`;

export const DAEMON_JSON = '/etc/docker/daemon.json';
export const LOG_OPTS = { 'max-size': '10m', 'max-file': '5' };

/**
 * daemon.json with json-file log rotation merged in: every other key (and every other log-opt)
 * is kept as it was. Returns null when the file already says what we need (so Docker is not
 * restarted for nothing). Refuses a file that is not a JSON object rather than overwrite it.
 */
export function mergeDaemonJson(current: string | null): string | null {
  let cur: Record<string, unknown> = {};
  if (current !== null && current.trim() !== '') {
    try {
      cur = JSON.parse(current) as Record<string, unknown>;
    } catch (e) {
      throw new RunbookError('precondition', `${DAEMON_JSON} is not valid JSON (${(e as Error).message}); it is left as it is`, { hint: `fix ${DAEMON_JSON} by hand (dockerd refuses to start with it too), then re-run` });
    }
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) throw new RunbookError('precondition', `${DAEMON_JSON} is not a JSON object`, { hint: `fix ${DAEMON_JSON}, then re-run` });
  }
  const opts = (typeof cur['log-opts'] === 'object' && cur['log-opts'] !== null ? cur['log-opts'] : {}) as Record<string, unknown>;
  const ok = cur['log-driver'] === 'json-file' && Object.entries(LOG_OPTS).every(([k, v]) => opts[k] === v);
  if (ok) return null;
  return `${JSON.stringify({ ...cur, 'log-driver': 'json-file', 'log-opts': { ...opts, ...LOG_OPTS } }, null, 2)}\n`;
}

/** A container's health, or its state when it has no healthcheck ("" when it does not exist). */
export const healthOf = (container: string) => read(['docker', 'inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', container], { okCodes: [0, 1] });

const running = async (exec: Executor, name: string) => (await exec.run(read(['docker', 'inspect', '-f', '{{.State.Running}}', name], { okCodes: [0, 1] }))).stdout.trim() === 'true';

/** Waits for a container to be healthy (or running when it has no healthcheck). */
export async function waitContainer(exec: Executor, name: string, deadlineMs = 300_000): Promise<void> {
  await waitFor(
    async () => {
      const s = (await exec.run(healthOf(name))).stdout.trim() || 'missing';
      if (s === 'healthy' || s === 'running') return { done: true, value: undefined };
      if (s === 'exited' || s === 'dead') return { done: false, reason: s, retryable: false };
      return { done: false, reason: s };
    },
    { what: `container ${name} healthy`, deadlineMs, initialDelayMs: 1_000, maxDelayMs: 5_000, host: exec.host, hint: `docker logs --tail 50 ${name}` },
  );
}

/**
 * Docker's steps: the package, Compose v2 present, log rotation merged into daemon.json (Docker
 * restarted only when it changed, and the `containers` that were running proved back), with
 * `dataMounts` a boot ordering after the volumes the containers' data lives on, enabled.
 */
export function dockerSteps<C>(o: { prefix: string; containers: (c: C) => string[]; dataMounts?: string[] }): Step<C>[] {
  const mounts = o.dataMounts ?? [];
  return [
    packagesStep(`${o.prefix}.packages`, ['docker.io']),
    {
      id: `${o.prefix}.compose-v2`,
      title: 'Docker Compose v2 (`docker compose`) present',
      doc: 'Debian 13 ships Compose v2 as `docker-compose`, Ubuntu as `docker-compose-v2`; Debian 12 has only 1.29, which rejects the compose file\'s top-level `name:`, so there it comes from Docker\'s `docker-compose-plugin`. The runbook installs no package from outside the distribution: it stops here naming the package.',
      async check({ exec }) {
        const r = await exec.run(read(['docker', 'compose', 'version', '--short'], { okCodes: [0, 1, 125, 127] }));
        const v = r.stdout.trim();
        if (r.exitCode === 0 && /^v?2\./.test(v)) return { done: true, reason: `compose ${v}` };
        throw new RunbookError('precondition', `Docker Compose v2 is missing (docker compose version: ${r.stderr.trim() || v || `exit ${r.exitCode}`})`, { host: exec.host, hint: 'install docker-compose (Debian 13), docker-compose-v2 (Ubuntu) or docker-compose-plugin (Docker\'s repository), then re-run' });
      },
      async apply() {},
    },
    {
      id: `${o.prefix}.log-rotation`,
      title: `${DAEMON_JSON}: json-file logs rotated (other keys kept)`,
      doc: `Merges \`"log-driver": "json-file"\` and \`log-opts\` ${JSON.stringify(LOG_OPTS)} into ${DAEMON_JSON}, keeping every other key. Docker is restarted only when the file changed, and the containers that were running are proved back (healthy) afterwards. Rotation applies to containers created after the change: the system's own are created after this step.`,
      async check({ exec }) {
        const cur = await exec.run(fileCmds.cat(DAEMON_JSON));
        return mergeDaemonJson(cur.exitCode === 0 ? cur.stdout : null) === null ? { done: true, reason: 'json-file with rotation already set' } : { done: false, reason: cur.exitCode === 0 ? 'log rotation not set' : `${DAEMON_JSON} missing` };
      },
      async apply({ exec, config, log }) {
        const cur = await exec.run(fileCmds.cat(DAEMON_JSON));
        const next = mergeDaemonJson(cur.exitCode === 0 ? cur.stdout : null);
        if (next === null) return;
        const wereRunning: string[] = [];
        for (const c of o.containers(config)) if (await running(exec, c)) wereRunning.push(c);
        await ensureFile(exec, { path: DAEMON_JSON, content: next, mode: '0644' });
        const active = (await exec.run(read(['systemctl', 'is-active', 'docker.service'], { okCodes: [0, 3, 4] }))).stdout.trim() === 'active';
        if (!active || exec.dryRun) return;
        log('restarting Docker for the new log settings');
        await exec.run(write(['systemctl', 'restart', 'docker.service'], { timeoutMs: 180_000 }));
        for (const c of wereRunning) await waitContainer(exec, c);
        if (wereRunning.length) log(`back and healthy after the restart: ${wereRunning.join(', ')}`);
      },
    },
    ...(mounts.length
      ? [
          filesStep<C>({
            id: `${o.prefix}.after-volume`,
            title: `Docker starts at boot only once ${mounts.join(', ')} is mounted`,
            doc: `A systemd drop-in for docker.service, \`RequiresMountsFor=${mounts.join(' ')}\`: at boot Docker (and so every container with \`restart: unless-stopped\`) waits for the volume, and does not start when it is missing, rather than run the databases on the empty folder beneath it. systemd is reloaded; Docker is not restarted for it.`,
            files: () => [{ path: MOUNTS_DROPIN, content: mountsDropIn(mounts), mode: '0644' }],
            after: () => [write(['systemctl', 'daemon-reload'])],
          }),
        ]
      : []),
    {
      id: `${o.prefix}.enabled`,
      title: 'Docker enabled at boot and running',
      async check({ exec }) {
        const e = (await exec.run(read(['systemctl', 'is-enabled', 'docker.service'], { okCodes: [0, 1] }))).stdout.trim();
        const a = (await exec.run(read(['systemctl', 'is-active', 'docker.service'], { okCodes: [0, 3, 4] }))).stdout.trim();
        return e === 'enabled' && a === 'active' ? { done: true, reason: 'enabled and active' } : { done: false, reason: `docker.service is ${e}/${a}` };
      },
      async apply({ exec }) {
        await exec.run(write(['systemctl', 'enable', '--now', 'docker.service'], { timeoutMs: 180_000 }));
      },
    },
  ];
}
