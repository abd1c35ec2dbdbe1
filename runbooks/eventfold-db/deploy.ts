import { read, write } from '../../lib/core/cmd.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { waitFor } from '../../lib/core/wait.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { filesStep, packagesStep } from '../../lib/steps/common.ts';
import { DATA, type EventfoldConfig, OPT, SERVER_ENV, TLS_DIR, TOOLS } from './config.ts';
import { putRelease, releaseSource } from './release-source.ts';
import { tlsEnvLines, tlsFiles } from './tls.ts';

const RELEASES = `${OPT}/releases`;
const CURRENT = `${OPT}/current`;
const PREVIOUS = `${OPT}/previous`;

async function link(exec: Executor, path: string): Promise<string | null> {
  const r = await exec.run(read(['readlink', path], { okCodes: [0, 1] }));
  return r.exitCode === 0 ? r.stdout.trim().split('/').pop() ?? null : null;
}

/** Records which release a rollback goes back to. */
async function setPrevious(exec: Executor, version: string): Promise<void> {
  await exec.run(write(['ln', '-sfn', `${RELEASES}/${version}`, `${PREVIOUS}.new`]));
  await exec.run(write(['mv', '-T', `${PREVIOUS}.new`, PREVIOUS]));
}

export function serverEnv(c: EventfoldConfig): string {
  return renderAsset('systemd/eventfold-db.env', {
    EVENTFOLD_LISTEN: c.listen,
    EVENTFOLD_METRICS_LISTEN: c.metricsListen,
    EVENTFOLD_BROKER_CAPACITY: c.brokerCapacity,
    EVENTFOLD_JWT_LINE: c.jwtSecret ? `EVENTFOLD_JWT_SECRET=${c.jwtSecret.reveal()}` : '# EVENTFOLD_JWT_SECRET not set: no bearer auth',
    EVENTFOLD_TLS_LINES: tlsEnvLines(c),
  });
}

/**
 * Health on the host itself (loopback is always allowed), through the installed tools. The gRPC
 * answer is bounded at 2 s; the 90 s bound is for Node's start-up, which took more than 30 s on
 * a busy emulated ARM64 VM.
 */
export const healthCmd = () => read(['node', TOOLS, 'health', '--addr', '127.0.0.1:2113', '--deadline', '2000'], { okCodes: [0, 1], timeoutMs: 90_000 });

/**
 * Waits, bounded, for gRPC health SERVING. A health check that times out or loses its SSH
 * connection is one failed try, not the end: on a busy or slow host the server's start and the
 * check's own Node start-up can take longer than one try.
 */
export async function waitHealthy(exec: Executor, deadlineMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      try {
        const r = await exec.run(healthCmd());
        return r.exitCode === 0 ? { done: true, value: undefined } : { done: false, reason: r.stderr.trim() || 'not SERVING' };
      } catch (e) {
        if (e instanceof RunbookError && e.retryable) return { done: false, reason: e.message };
        throw e;
      }
    },
    { what: 'EventfoldDB health on 127.0.0.1:2113', deadlineMs, initialDelayMs: 1_000, maxDelayMs: 3_000, host: exec.host, hint: 'journalctl -u eventfold-db -n 50' },
  );
}

const currentRelease = (exec: Executor) => link(exec, CURRENT);

export async function releases(exec: Executor): Promise<string[]> {
  const r = await exec.run(read(['ls', '-1t', RELEASES], { okCodes: [0, 2] }));
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Points `current` at a release atomically (a new symlink renamed over the old one) and restarts. */
export async function switchTo(exec: Executor, version: string): Promise<void> {
  await exec.run(write(['ln', '-sfn', `${RELEASES}/${version}`, `${CURRENT}.new`]));
  await exec.run(write(['mv', '-T', `${CURRENT}.new`, CURRENT]));
  await exec.run(write(['systemctl', 'enable', 'eventfold-db.service']));
  // A release that crash-looped may have hit the start limit; a deliberate switch starts afresh.
  await exec.run(write(['systemctl', 'reset-failed', 'eventfold-db.service'], { okCodes: [0, 1, 5] }));
  await exec.run(write(['systemctl', 'restart', 'eventfold-db.service'], { timeoutMs: 90_000 }));
}

// The server reads its environment and unit only at start. Exit 5: no such unit yet (a first
// install writes the config before the unit), so there is nothing to restart.
const restartIfRunning = write(['systemctl', 'try-restart', 'eventfold-db.service'], { timeoutMs: 90_000, okCodes: [0, 5] });
const provenHealthy = { service: 'eventfold-db.service', healthy: (exec: Executor) => waitHealthy(exec) };

/** The PRD's install section: user, directories, tools, config, unit. */
export function installSteps(): Step<EventfoldConfig>[] {
  return [
    packagesStep('install.packages', ['nodejs']),
    {
      id: 'install.user',
      title: 'System user and group eventfold',
      async check({ exec }) {
        const r = await exec.run(read(['getent', 'passwd', 'eventfold'], { okCodes: [0, 2] }));
        return r.exitCode === 0 ? { done: true, reason: 'user eventfold exists' } : { done: false, reason: 'no user eventfold' };
      },
      async apply({ exec }) {
        await exec.run(write(['useradd', '--system', '--user-group', '--home-dir', '/nonexistent', '--no-create-home', '--shell', '/usr/sbin/nologin', 'eventfold']));
      },
    },
    {
      id: 'install.dirs',
      title: `Directories: ${DATA} owned by eventfold, ${RELEASES}, /etc/eventfold-db`,
      async check({ exec }) {
        const r = await exec.run(read(['stat', '-c', '%n %a %U:%G', DATA, RELEASES, '/etc/eventfold-db'], { okCodes: [0, 1] }));
        const want = [`${DATA} 750 eventfold:eventfold`, `${RELEASES} 755 root:root`, '/etc/eventfold-db 750 root:eventfold'];
        const have = r.stdout.trim().split('\n');
        const wrong = want.filter((w) => !have.includes(w));
        return wrong.length ? { done: false, reason: `want ${wrong.join(', ')}` } : { done: true, reason: 'owners and modes right' };
      },
      async apply({ exec }) {
        const mountpoint = await exec.run(read(['mountpoint', '-q', DATA], { okCodes: [0, 1, 32] }));
        if (mountpoint.exitCode !== 0 && !exec.dryRun) throw new RunbookError('precondition', `${DATA} is not a mount point: the log would land on the root disk`, { host: exec.host, hint: 'run the volume steps first: --from volume.format' });
        await exec.run(write(['install', '-d', '-m', '0750', '-o', 'eventfold', '-g', 'eventfold', DATA]));
        await exec.run(write(['install', '-d', '-m', '0755', '-o', 'root', '-g', 'root', OPT, RELEASES, `${OPT}/tools`]));
        await exec.run(write(['install', '-d', '-m', '0750', '-o', 'root', '-g', 'eventfold', '/etc/eventfold-db']));
      },
    },
    filesStep({
      id: 'install.tools',
      title: 'Host tools (health, backup, restore) in /opt/eventfold-db/tools',
      doc: 'The bundled `eventfold-tools` (Node 18+, one file with its gRPC protos inlined); run by the backup timer and by the smoke checks.',
      files: () => [
        { path: TOOLS, content: readAsset('dist/eventfold/eventfold-tools.mjs'), mode: '0755' },
      ],
    }),
    filesStep({
      id: 'install.config',
      title: `Server environment ${SERVER_ENV} (and TLS files when TLS is on)`,
      doc: `A host whose env file sets \`EVENTFOLD_JWT_SECRET\` keeps it: a run without the secret is refused unless \`BEARER_AUTH_OFF=yes\` (the file's values are masked in dry-run diffs). The server reads its environment only at start, so a change here restarts a running server (\`systemctl try-restart\`; the release step then waits for health). With \`TLS_CERT_FILE\`/\`TLS_KEY_FILE\` the pair is checked first (a PEM certificate, its own key, not expired, valid for \`TLS_SERVER_NAME\`) and installed under \`${TLS_DIR}\`. When the server was running and does not come back healthy, the previous files go back and it is restarted with them.`,
      files: (c) => [
        ...(c.tls ? tlsFiles(c.tls) : []),
        // Always secret: the host's copy may hold a JWT secret even when this run's config has none.
        { path: SERVER_ENV, content: serverEnv(c), mode: '0640', owner: 'root', group: 'eventfold', secret: true },
      ],
      keepSecrets: { path: SERVER_ENV, keys: ['EVENTFOLD_JWT_SECRET'], dropAllowed: (c) => c.bearerAuthOff, hint: 'set EVENTFOLD_JWT_SECRET in the env file to keep bearer auth, or BEARER_AUTH_OFF=yes to turn it off' },
      after: () => [restartIfRunning],
      restartProof: provenHealthy,
    }),
    filesStep({
      id: 'install.unit',
      title: 'systemd unit eventfold-db.service',
      doc: '`Type=exec` (the server has no sd_notify), restart on failure after 2 s, `RequiresMountsFor=/data` plus a `mountpoint` check so it never starts on the root disk, `TimeoutStopSec=30s`, hardened (exposure 1.2 by `systemd-analyze security`), logs to journald.',
      files: () => [{ path: '/etc/systemd/system/eventfold-db.service', content: readAsset('systemd/eventfold-db.service'), mode: '0644' }],
      after: () => [write(['systemctl', 'daemon-reload']), restartIfRunning],
      restartProof: provenHealthy,
    }),
  ];
}

/** Deploys RELEASE_FILE as RELEASE_VERSION, gated by health; a release that fails rolls back by itself. */
export function releaseStep(): Step<EventfoldConfig> {
  return {
    id: 'deploy.release',
    title: 'Release deployed, running and healthy',
    doc: 'Uploads the binary (`RELEASE_FILE`) or has the host fetch it from Object Storage with the OCI CLI (`RELEASE_BUCKET`/`RELEASE_OBJECT`) into `/opt/eventfold-db/releases/VERSION/`, checked against `RELEASE_SHA256` before use, points `current` at it, restarts, and waits for gRPC health SERVING. If the new release does not become healthy, `current` goes back to the previous release, which is restarted, and the step fails saying so. Older releases beyond `KEEP_RELEASES` are removed.',
    async check({ exec, config: c }) {
      const cur = await currentRelease(exec);
      if (!c.releaseVersion) {
        if (!cur) throw new RunbookError('config', 'no release is installed and RELEASE_VERSION/RELEASE_SHA256 are not set', { host: exec.host, hint: 'set them in the env file, with RELEASE_FILE or RELEASE_BUCKET and RELEASE_OBJECT' });
        return { done: true, reason: `release ${cur} is current (no new release given)` };
      }
      if (cur !== c.releaseVersion) return { done: false, reason: cur ? `current is ${cur}, want ${c.releaseVersion}` : 'no release installed' };
      const sha = await exec.run(read(['sha256sum', `${RELEASES}/${cur}/eventfold-db`], { okCodes: [0, 1] }));
      if (sha.stdout.split(' ')[0] !== c.releaseSha256) return { done: false, reason: `${cur} on the host does not match RELEASE_SHA256` };
      const active = await exec.run(read(['systemctl', 'is-active', 'eventfold-db.service'], { okCodes: [0, 3] }));
      if (active.stdout.trim() !== 'active') return { done: false, reason: `eventfold-db.service is ${active.stdout.trim()}` };
      // The server may be starting (after a reboot, or a restart by systemd): give it a bounded while.
      try {
        await waitHealthy(exec, 30_000);
      } catch {
        return { done: false, reason: 'health is not SERVING' };
      }
      return { done: true, reason: `${cur} is current, active and SERVING` };
    },
    async apply({ exec, config: c, log }) {
      const source = releaseSource(c, exec.host);
      const previous = await currentRelease(exec);
      const dir = `${RELEASES}/${c.releaseVersion}`;
      const have = await exec.run(read(['sha256sum', `${dir}/eventfold-db`], { okCodes: [0, 1] }));
      if (have.stdout.split(' ')[0] !== c.releaseSha256) {
        await putRelease(exec, c, source, `${dir}/eventfold-db.partial`, log);
        const up = await exec.run(read(['sha256sum', `${dir}/eventfold-db.partial`], { okCodes: [0, 1] }));
        if (!exec.dryRun && up.stdout.split(' ')[0] !== c.releaseSha256) {
          await exec.run(write(['rm', '-f', `${dir}/eventfold-db.partial`]));
          throw new RunbookError('stepFailed', `the release put on the host does not match RELEASE_SHA256 (got ${up.stdout.split(' ')[0]})`, { host: exec.host, hint: 're-run; if it repeats, check the transfer path' });
        }
        await exec.run(write(['mv', '-f', `${dir}/eventfold-db.partial`, `${dir}/eventfold-db`]));
      }
      await switchTo(exec, c.releaseVersion);
      if (exec.dryRun) return;
      try {
        await waitHealthy(exec);
      } catch (err) {
        if (!previous || previous === c.releaseVersion) throw new RunbookError('stepFailed', `release ${c.releaseVersion} did not become healthy and there is no previous release to go back to: ${(err as Error).message}`, { host: exec.host, hint: 'journalctl -u eventfold-db -n 100' });
        log(`release ${c.releaseVersion} failed its health check; rolling back to ${previous}`);
        await switchTo(exec, previous);
        await waitHealthy(exec);
        throw new RunbookError('stepFailed', `release ${c.releaseVersion} did not become healthy; rolled back to ${previous}, which is SERVING`, { host: exec.host, hint: `journalctl -u eventfold-db -n 100 (the failed release stays in ${dir})` });
      }
      if (previous && previous !== c.releaseVersion) await setPrevious(exec, previous);
      const all = await releases(exec);
      for (const old of all.slice(c.keepReleases)) if (old !== c.releaseVersion && old !== previous) await exec.run(write(['rm', '-rf', '--', `${RELEASES}/${old}`]));
    },
  };
}

/** Rollback: switch `current` to the previous (or a named) release and prove it healthy. */
export function rollbackStep(): Step<EventfoldConfig> {
  let target = '';
  return {
    id: 'rollback.switch',
    title: 'Switch to the previous release',
    destructive: 'restarts EventfoldDB on another release',
    async check({ exec, config: c }) {
      const cur = await currentRelease(exec);
      target = c.rollbackTo === 'previous' ? (await link(exec, PREVIOUS)) ?? '' : c.rollbackTo;
      if (!target || target === cur) throw new RunbookError('precondition', `there is no other release to roll back to (current ${cur}, previous ${target || 'none'})`, { host: exec.host, hint: 'name one with ROLLBACK_TO=VERSION' });
      if (c.rollbackTo !== 'previous' && !(await releases(exec)).includes(target)) throw new RunbookError('precondition', `release ${target} is not installed (have: ${(await releases(exec)).join(', ')})`, { host: exec.host });
      return { done: false, reason: `current is ${cur}, rolling back to ${target}` };
    },
    async apply({ exec }) {
      const from = await currentRelease(exec);
      await switchTo(exec, target);
      if (!exec.dryRun) await waitHealthy(exec);
      if (from) await setPrevious(exec, from);
    },
    async verify({ exec }) {
      if ((await currentRelease(exec)) !== target) throw new RunbookError('stepFailed', `current is not ${target} after the switch`, { host: exec.host });
    },
  };
}
