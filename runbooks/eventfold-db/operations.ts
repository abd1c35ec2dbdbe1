import { read, write } from '../../lib/core/cmd.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { waitFor } from '../../lib/core/wait.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { checkBackupBucket, type BackupNeeds } from '../../lib/oci/bucket-guard.ts';
import { filesStep } from '../../lib/steps/common.ts';
import { nftablesStep } from '../../lib/steps/nftables.ts';
import { type StagedMarker, markerPath, verifiedStaged, writeMarker } from '../../lib/steps/staged-file.ts';
import { type EventfoldConfig, LOG, TOOLS } from './config.ts';
import { healthCmd, waitHealthy } from './deploy.ts';
import { manifestName, segmentName } from './tools/manifest.ts';

const v4 = (l: string[]) => l.filter((c) => !c.includes(':'));
const elements = (l: string[]) => (l.length ? `elements = { ${l.join(', ')} }` : '');

export const firewallRules = (c: EventfoldConfig) => renderAsset('nftables/eventfold-db.nft', { APP_V4_ELEMENTS: elements(v4(c.appCidrs)), MON_V4_ELEMENTS: elements(v4(c.monitoringCidrs)) });

/** The OCI security-list ingress rules that mirror the host firewall (for `oci network security-list update`). */
export function securityListRules(c: EventfoldConfig): object[] {
  const rule = (source: string, port: number, description: string) => ({ protocol: '6', source, sourceType: 'CIDR_BLOCK', isStateless: false, description, tcpOptions: { destinationPortRange: { min: port, max: port } } });
  return [...c.appCidrs.map((s) => rule(s, 2113, 'EventfoldDB gRPC from the application subnet')), ...c.monitoringCidrs.map((s) => rule(s, 9090, 'EventfoldDB metrics from the monitoring subnet'))];
}

export function firewallSteps(): Step<EventfoldConfig>[] {
  return [
    nftablesStep({
      id: 'firewall.nftables',
      title: 'Firewall: 2113 from the application subnet, 9090 from monitoring',
      doc: 'Adds `/etc/nftables.d/20-eventfold-db.nft` to the base host\'s table (SSH from the operator CIDRs stays as base-host set it; everything else stays dropped). Needs base-host first: without its table the candidate ruleset does not check.',
      file: '20-eventfold-db.nft',
      content: firewallRules,
    }),
    {
      id: 'firewall.oci-rules',
      title: 'OCI security-list rules to match (printed)',
      doc: [
        'Prints `rules.json` for the subnet\'s security list and the command that applies it:',
        '`oci network security-list update --security-list-id OCID --ingress-security-rules file://rules.json --force`.',
        'That command needs the security list\'s OCID (`--security-list-id`), **replaces every ingress rule** of the list (so the printed rules include the SSH rule for the operator CIDRs, read from the host\'s own firewall; add any other rule the list must keep before applying), and asks for confirmation unless `--force` is given.',
        'The host firewall above is enforced either way.',
      ].join(' '),
      async check({ exec, log, config }) {
        const ssh = await sshIngressFromHost(exec);
        log(`rules.json: every ingress rule the security list will hold (${ssh.note}):`);
        log(JSON.stringify([...ssh.rules, ...securityListRules(config)]));
        log('apply: oci network security-list update --security-list-id <the subnet\'s security list OCID> --ingress-security-rules file://rules.json --force');
        log('it REPLACES every ingress rule of that list: add any other rule it must keep to rules.json first; without --force the OCI CLI asks for confirmation');
        return { done: true, reason: 'printed above; the host firewall is enforced either way' };
      },
      async apply() {},
    },
  ];
}

/** The SSH ingress the base host's firewall admits (port and operator CIDRs), as security-list rules. */
export async function sshIngressFromHost(exec: Executor): Promise<{ rules: object[]; note: string }> {
  const chain = await exec.run(read({ okCodes: [0, 1] })`nft list chain inet runbook input`);
  const port = Number(/tcp dport (\d+) ip6? saddr @operator_v[46] accept/.exec(chain.stdout)?.[1]);
  if (chain.exitCode !== 0 || !port) return { rules: [], note: 'no base-host firewall found on the host: ADD the SSH rule for your operator CIDRs yourself, or the update locks you out' };
  const sources: string[] = [];
  for (const set of ['operator_v4', 'operator_v6']) {
    const r = await exec.run(read({ okCodes: [0, 1] })`nft list set inet runbook ${set}`);
    const m = /elements = \{([^}]*)\}/s.exec(r.stdout);
    if (m?.[1]) sources.push(...m[1].split(',').map((e) => e.trim()).filter(Boolean).map((e) => (e.includes('/') ? e : `${e}/${e.includes(':') ? 128 : 32}`)));
  }
  const rules = sources.map((source) => ({ protocol: '6', source, sourceType: 'CIDR_BLOCK', isStateless: false, description: 'SSH from the operator CIDRs (base-host)', tcpOptions: { destinationPortRange: { min: port, max: port } } }));
  return { rules, note: `SSH on ${port} from ${sources.join(', ') || 'no operator CIDR'}, as the host's firewall admits it, then EventfoldDB's` };
}

export function backupEnv(c: EventfoldConfig): string {
  return renderAsset('systemd/eventfold-backup.env', {
    BACKUP_BUCKET: c.bucket,
    BACKUP_PREFIX: c.prefix,
    BACKUP_RETENTION_DAYS: String(c.retentionDays),
    BACKUP_FULL_EVERY_DAYS: String(c.fullEveryDays),
    OCI_CLI_AUTH: c.ociAuth,
  });
}

const BACKUP_HOME = '/var/lib/eventfold-backup';
const asBackupUser = (c: EventfoldConfig) => (argv: string[]) => ['runuser', '-u', 'eventfold', '--', 'env', `HOME=${BACKUP_HOME}`, `OCI_CLI_AUTH=${c.ociAuth}`, ...argv];

/** What the backups need from their bucket: a chain lives up to a full cycle, then its retention. */
export function bucketNeeds(c: EventfoldConfig): BackupNeeds {
  return {
    bucket: c.bucket,
    prefix: c.prefix,
    objects: [
      { kind: 'segments', example: segmentName(c.prefix, 'chain', 0, 1) },
      { kind: 'manifests', example: manifestName(c.prefix, 'chain', 1) },
    ],
    neededDays: c.retentionDays + c.fullEveryDays,
    prunesAfterDays: c.retentionDays,
    setting: 'BACKUP_RETENTION_DAYS',
  };
}

export function backupSteps(): Step<EventfoldConfig>[] {
  return [
    filesStep({
      id: 'backup.units',
      title: 'Backup service, timer and settings',
      doc: 'A oneshot service that runs `eventfold-tools backup` (incremental, silent on success) and a timer on `BACKUP_SCHEDULE`.',
      files: (c) => [
        { path: '/etc/eventfold-db/backup.env', content: backupEnv(c), mode: '0640', owner: 'root', group: 'eventfold' },
        { path: '/etc/systemd/system/eventfold-backup.service', content: readAsset('systemd/eventfold-backup.service'), mode: '0644' },
        { path: '/etc/systemd/system/eventfold-backup.timer', content: renderAsset('systemd/eventfold-backup.timer', { BACKUP_SCHEDULE: c.backupSchedule }), mode: '0644' },
      ],
      after: () => [write`systemctl daemon-reload`],
    }),
    {
      id: 'backup.bucket',
      title: 'Backup bucket: no lifecycle or retention rule in the way',
      doc: 'Reads the bucket\'s lifecycle policy (`oci os object-lifecycle-policy get`) and retention rules (`oci os retention-rule list`) as the backup user, on every run. Refuses (exit 4) when a lifecycle rule deletes or archives backup objects younger than `BACKUP_RETENTION_DAYS` + `BACKUP_FULL_EVERY_DAYS` (a restore may still need them), or a retention rule keeps objects longer than `BACKUP_RETENTION_DAYS` (the backup\'s own pruning would fail); the message names the rule and the fix. A bucket that does not exist yet is reported, not refused: the backup fails loudly until it does.',
      async check({ exec, config, log }) {
        const state = await exec.run(read({ okCodes: [0, 1] })`test -d ${BACKUP_HOME}`);
        if (state.exitCode !== 0) return { done: false, reason: `${BACKUP_HOME} (the backup user's OCI home) is not there yet` };
        const v = await checkBackupBucket(exec, bucketNeeds(config), asBackupUser(config));
        if (!v.ok) log(v.reason);
        return { done: true, reason: v.reason };
      },
      async apply({ exec }) {
        // What systemd's StateDirectory= makes at the first backup, made now so the check can run as that user.
        await exec.run(write`install -d -o eventfold -g eventfold -m 0700 ${BACKUP_HOME}`);
      },
    },
    {
      id: 'backup.timer',
      title: 'Backup timer enabled and waiting',
      async check({ exec }) {
        const e = await exec.run(read({ okCodes: [0, 1] })`systemctl is-enabled eventfold-backup.timer`);
        const a = await exec.run(read({ okCodes: [0, 3] })`systemctl is-active eventfold-backup.timer`);
        return e.stdout.trim() === 'enabled' && a.stdout.trim() === 'active' ? { done: true, reason: 'enabled and active' } : { done: false, reason: `timer is ${e.stdout.trim()}/${a.stdout.trim()}` };
      },
      async apply({ exec }) {
        await exec.run(write`systemctl enable --now eventfold-backup.timer`);
      },
    },
  ];
}

/**
 * Restore: verify everything first, then stop, keep the current log aside, swap, start, prove.
 * The swap may run in a later process (`--from restore.swap`), so it trusts only what the fetch
 * left on the host: the staged log and its verification marker (SHA-256, size, events digest).
 */
export function restoreSteps(): Step<EventfoldConfig>[] {
  const staged = `${LOG}.restore`;
  return [
    {
      id: 'restore.fetch',
      title: 'Fetch and verify the newest backup (host untouched)',
      doc: `Downloads the newest manifest and every segment it lists, checks each size and SHA-256, rebuilds the log beside the live one and verifies every batch CRC and the last position. Any missing or corrupt object stops here, before the server is touched. The verified log's SHA-256, size and events digest go into \`${markerPath(staged)}\`, which the swap checks the staged log against (also when resumed with \`--from restore.swap\`).`,
      async check() {
        return { done: false, reason: 'a restore always fetches' };
      },
      async apply({ exec, log }) {
        await exec.run(write`rm -f -- ${staged} ${markerPath(staged)}`);
        const r = await exec.run(write({ timeoutMs: 6 * 3600_000 })`runuser -u eventfold -- env HOME=/var/lib/eventfold-backup node ${TOOLS} restore --config /etc/eventfold-db/backup.env --out ${staged}`);
        if (exec.dryRun) return;
        log(r.stdout.trim());
        const v = await exec.run(read({ timeoutMs: 60 * 60_000 })`node ${TOOLS} verify-log ${staged}`);
        const digest = (JSON.parse(v.stdout) as { digest: string }).digest;
        await writeMarker(exec, staged, manifestOf(r.stdout), { digest });
      },
      async verify({ exec }) {
        await verifiedStaged(exec, staged, 'restore.fetch');
      },
    },
    {
      id: 'restore.swap',
      title: 'Stop the server, keep the current log aside, put the restored log in place',
      destructive: 'stops EventfoldDB and replaces its live log (the current one is kept beside it, never deleted)',
      doc: `Refuses, before stopping anything, unless \`${staged}\` is exactly the log \`restore.fetch\` verified (its marker's SHA-256 and size); then stops the server, moves the live log aside, puts the restored one in place, starts and proves ReadAll matches the verified events digest.`,
      async check() {
        return { done: false, reason: 'restore requested' };
      },
      async apply({ exec, log }) {
        let m: StagedMarker | undefined;
        try {
          m = await verifiedStaged(exec, staged, 'restore.fetch');
        } catch (err) {
          // A dry run of the whole restore never fetched: say what a real run would check.
          if (!exec.dryRun) throw err;
          log(`a real run first checks ${staged} against ${markerPath(staged)}, written by restore.fetch`);
        }
        await exec.run(write({ timeoutMs: 90_000 })`systemctl stop eventfold-db.service`);
        const cur = await exec.run(read({ okCodes: [0, 1] })`test -e ${LOG}`);
        let aside = '';
        if (cur.exitCode === 0) {
          aside = `${LOG}.before-restore-${new Date().toISOString().replace(/[:.]/g, '')}`;
          await exec.run(write`mv -n ${LOG} ${aside}`);
          if (!exec.dryRun) log(`the previous log is kept at ${aside}`);
        }
        await exec.run(write`mv -n ${staged} ${LOG}`);
        await exec.run(write`rm -f -- ${markerPath(staged)}`);
        await exec.run(write`chown eventfold:eventfold ${LOG}`);
        await exec.run(write({ timeoutMs: 90_000 })`systemctl start eventfold-db.service`);
        if (exec.dryRun || !m) return;
        await waitHealthy(exec);
        const r = await exec.run(read`node ${TOOLS} read-all --deadline 10000`);
        const got = JSON.parse(r.stdout) as { digest: string; events: number };
        if (got.digest !== m.facts.digest) throw new RunbookError('stepFailed', `ReadAll after the restore does not match the backup (${got.events} events)`, { host: exec.host, hint: `the previous log is at ${aside || 'nowhere (there was none)'}` });
      },
      // Proven inside apply, against the marker read from the host there.
      async verify() {},
    },
  ];
}

/** The manifest object a restore came from, from the tool's JSON result (best effort: it is only recorded). */
function manifestOf(stdout: string): string {
  try {
    return String((JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { manifest?: unknown }).manifest ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

async function nrestarts(exec: Executor): Promise<number> {
  const r = await exec.run(read`systemctl show -p NRestarts --value eventfold-db.service`);
  return Number(r.stdout.trim());
}

/** The PRD's acceptance checks as read-only steps (kill -9 is the one that acts). */
export function smokeSteps(): Step<EventfoldConfig>[] {
  const ok = (reason: string) => ({ done: true as const, reason });
  return [
    {
      id: 'smoke.health',
      title: 'gRPC health is SERVING',
      async check({ exec }) {
        const r = await exec.run(healthCmd());
        if (r.exitCode !== 0) throw new RunbookError('stepFailed', `health: ${r.stderr.trim()}`, { host: exec.host, hint: 'journalctl -u eventfold-db -n 50' });
        return ok('SERVING');
      },
      async apply() {},
    },
    {
      id: 'smoke.read-all',
      title: 'ReadAll answers within 2 s',
      async check({ exec }) {
        const r = await exec.run(read({ okCodes: [0, 1] })`node ${TOOLS} read-all --deadline 2000`);
        if (r.exitCode !== 0) throw new RunbookError('stepFailed', `ReadAll: ${r.stderr.trim()}`, { host: exec.host });
        const j = JSON.parse(r.stdout) as { events: number; ms: number };
        return ok(`${j.events} events in ${j.ms} ms`);
      },
      async apply() {},
    },
    {
      id: 'smoke.metrics',
      title: 'Metrics reachable on 9090',
      async check({ exec }) {
        const r = await exec.run(read(['node', '-e', 'fetch("http://127.0.0.1:9090/metrics").then(r=>r.text()).then(t=>{process.stdout.write(t)},e=>{console.error(e.message);process.exit(1)})'], { okCodes: [0, 1] }));
        if (r.exitCode !== 0 || !/^eventfold_/m.test(r.stdout)) throw new RunbookError('stepFailed', `metrics: ${r.stderr.trim() || 'no eventfold_ series'}`, { host: exec.host });
        return ok(`${r.stdout.split('\n').filter((l) => /^eventfold_/.test(l)).length} eventfold_ series`);
      },
      async apply() {},
    },
    {
      id: 'smoke.journal',
      title: 'The journal holds the server\'s log lines',
      async check({ exec }) {
        const r = await exec.run(read`journalctl -u eventfold-db.service -n 20 --no-pager -o cat`);
        if (!/eventfold_db/.test(r.stdout)) throw new RunbookError('stepFailed', 'no eventfold_db lines in the journal', { host: exec.host });
        return ok('log lines present');
      },
      async apply() {},
    },
    {
      id: 'smoke.kill-restart',
      title: 'kill -9 of the server: systemd restarts it within 10 s',
      destructive: 'kills the running server with SIGKILL (acknowledged writes are fsynced, so nothing is lost)',
      async check() {
        return { done: false, reason: 'the kill test always runs' };
      },
      async apply({ exec, log }) {
        const before = await nrestarts(exec);
        const pid = (await exec.run(read`systemctl show -p MainPID --value eventfold-db.service`)).stdout.trim();
        if (!/^[1-9]\d*$/.test(pid)) throw new RunbookError('precondition', 'eventfold-db.service has no main process', { host: exec.host });
        const t0 = Date.now();
        await exec.run(write`kill -9 ${pid}`);
        if (exec.dryRun) return;
        await waitFor(
          async () => {
            const n = await nrestarts(exec);
            const active = (await exec.run(read({ okCodes: [0, 3] })`systemctl is-active eventfold-db.service`)).stdout.trim();
            return n > before && active === 'active' ? { done: true, value: undefined } : { done: false, reason: `${active}, NRestarts ${n}` };
          },
          { what: 'restart after kill -9', deadlineMs: 10_000, initialDelayMs: 250, maxDelayMs: 1_000, host: exec.host },
        );
        log(`restarted by systemd in ${((Date.now() - t0) / 1000).toFixed(1)} s (NRestarts ${await nrestarts(exec)})`);
        await waitHealthy(exec, 30_000);
      },
      async verify() {},
    },
  ];
}
