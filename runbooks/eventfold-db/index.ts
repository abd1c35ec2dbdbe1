import { title } from './catalog.ts';
import type { Runbook } from '../../lib/engine/types.ts';
import { readAsset, renderAsset, renderUserData } from '../../lib/core/assets.ts';
import { exampleValues } from '../../lib/config/schema.ts';
import { bootstrapConfig, bootstrapVars } from './bootstrap.ts';
import { DATA, eventfoldConfig, type EventfoldConfig } from './config.ts';
import { installSteps, releaseStep, rollbackStep, serverEnv } from './deploy.ts';
import { backupEnv, backupSteps, firewallRules, firewallSteps, restoreSteps, smokeSteps } from './operations.ts';
import { tlsCleanupStep } from './tls.ts';
import { volumeSteps } from '../../lib/steps/volume.ts';

const SEED = 'eventfold-db-oci-arm-prd016.md';

const DEVIATIONS = [
  'PRD 016 drafts `Type=notify` with a watchdog; EventfoldDB has no sd_notify, so such a unit never becomes ready. The unit is `Type=exec`.',
  'The PRD points `ExecStart` at `/opt/eventfold-db/eventfold-db`; releases live under `/opt/eventfold-db/releases/VERSION/` with a `current` symlink so a rollback is one switch.',
  'If `/data` is not mounted the server creates an empty log on the root disk; the unit has `RequiresMountsFor=/data` and an `ExecStartPre` mount-point check.',
  'Health is the standard gRPC health service on 2113 (no HTTP endpoint); metrics are plain HTTP `GET /metrics` on 9090.',
  'The PRD\'s release path (cross-compile, then copy by hand) becomes a SHA-256-checked release: `RELEASE_FILE` uploaded over SSH, or `RELEASE_BUCKET`/`RELEASE_OBJECT` fetched by the host itself with the OCI CLI, which is what first boot uses.',
  'The PRD says a hot copy is safe only through a volume snapshot; the log format makes a byte prefix that ends on a batch boundary a consistent snapshot, so backups are hot, incremental, cut at the last whole batch with every CRC verified.',
  'The PRD leaves TLS to PRD 011 (in-process tonic TLS or a proxy). These runbooks support the in-process option: `TLS_CERT_FILE`/`TLS_KEY_FILE` become `EVENTFOLD_TLS_CERT`/`EVENTFOLD_TLS_KEY`, checked first (its own key, not expired, valid for `TLS_SERVER_NAME`). Without them gRPC is plaintext, which the PRD allows inside the VCN only. mTLS (`EVENTFOLD_TLS_CA`) is not offered: the host checks would need a client certificate of their own.',
  'With `EVENTFOLD_JWT_SECRET` set, every EventStore call needs a bearer token; the host checks (smoke ReadAll, the restore proof) mint a short-lived HS256 token from the server\'s own environment file, so the secret never appears on a command line.',
];

const assets = (c: EventfoldConfig) => [
  { kind: 'systemd' as const, path: 'eventfold-db.service', content: readAsset('systemd/eventfold-db.service') },
  { kind: 'systemd' as const, path: 'eventfold-backup.service', content: readAsset('systemd/eventfold-backup.service') },
  { kind: 'systemd' as const, path: 'eventfold-backup.timer', content: renderAsset('systemd/eventfold-backup.timer', { BACKUP_SCHEDULE: c.backupSchedule }) },
  // Checked on its own here with a stand-in of the base table it extends.
  { kind: 'nftables' as const, path: '20-eventfold-db.nft', content: `table inet runbook {\n\tchain services {\n\t}\n}\n${firewallRules(c)}` },
  { kind: 'text' as const, path: '/etc/eventfold-db/eventfold-db.env', content: serverEnv(c) },
  { kind: 'text' as const, path: '/etc/eventfold-db/backup.env', content: backupEnv(c) },
  { kind: 'cloud-init' as const, path: 'user-data', content: renderUserData('cloud-init/eventfold-db.yaml', bootstrapVars(bootstrapConfig.build(exampleBootValues()))) },
];

/** The bootstrap env's example values, as a first-boot env file would hold them (no local file, no secret). */
function exampleBootValues() {
  const v = exampleValues(bootstrapConfig);
  delete v.RELEASE_FILE;
  delete v.EVENTFOLD_JWT_SECRET;
  for (const k of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_TRUST_FILE', 'TLS_SERVER_NAME']) delete v[k];
  return v;
}

export const bringUp: Runbook<EventfoldConfig> = {
  name: 'eventfold-db',
  title: title('eventfold-db'),
  seed: SEED,
  summary: 'Takes a base host to a running, firewalled, backed-up EventfoldDB: the block volume as ext4 at /data (never reformatting one with data), the eventfold user, the hardened unit, a release deployed behind a health gate that rolls itself back, nftables for 2113/9090, and the incremental backup timer.',
  deviations: DEVIATIONS,
  config: eventfoldConfig,
  steps: () => [...volumeSteps<EventfoldConfig>({ prefix: 'volume', mountPoint: DATA, label: 'eventfold-data', deviceVar: 'DATA_DEVICE', device: (c) => c.device }), ...installSteps(), releaseStep(), tlsCleanupStep(), ...firewallSteps(), ...backupSteps()],
  cloudInit: { template: 'cloud-init/eventfold-db.yaml', config: bootstrapConfig, vars: bootstrapVars },
  cloudInitDoc: [
    'With no terminal and nobody watching: the admin account is created first (so the operator can always log in), then `runbook-bootstrap` fetches the runbook bundle (`npm run build` makes `dist/runbook-bundle.tar.gz`, reproducibly) from `RUNBOOK_BUNDLE_BUCKET` with the instance\'s own identity (`OCI_CLI_AUTH`, normally `instance_principal`), refuses it unless it matches `RUNBOOK_BUNDLE_SHA256`, and runs `base-host` then `eventfold-db` on the host with `--yes`. The release comes from `RELEASE_BUCKET`/`RELEASE_OBJECT`, checked against `RELEASE_SHA256`.',
    '',
    'Before launch: upload the bundle and the release; put the instance in a dynamic group allowed to `read objects` in the artifacts bucket and `manage objects` in the backup bucket. Instance-principal permissions can take minutes to work after launch, so every fetch is retried until `BOOTSTRAP_DEADLINE_SECONDS`. The image must carry the OCI CLI (bake it into the custom image; the runbooks target Debian and Ubuntu hosts). Secrets are refused: instance metadata is readable by every process on the host; set `EVENTFOLD_JWT_SECRET` afterwards over SSH. The rendered user-data must stay under OCI\'s 32,000-byte metadata limit (it is about 8 KB).',
    '',
    'Progress and failures: `/var/log/cloud-init-output.log` and `/var/log/runbook/bootstrap.jsonl`. After fixing a failure, `sudo runbook-bootstrap` on the host resumes (every step converges).',
  ].join('\n'),
  assets,
};

export const rollback: Runbook<EventfoldConfig> = {
  name: 'eventfold-db.rollback',
  title: title('eventfold-db.rollback'),
  seed: SEED,
  summary: 'Points `current` at the previous release (or `ROLLBACK_TO`), restarts, and waits for health SERVING.',
  config: eventfoldConfig,
  steps: () => [rollbackStep()],
};

export const restore: Runbook<EventfoldConfig> = {
  name: 'eventfold-db.restore',
  title: title('eventfold-db.restore'),
  seed: SEED,
  summary: 'Verifies the manifest chain and every object before touching the host, then stops the server, keeps the current log aside, puts the restored log in place, starts, and proves ReadAll returns the backed-up events in the same order.',
  deviations: DEVIATIONS,
  config: eventfoldConfig,
  steps: restoreSteps,
};

export const smoke: Runbook<EventfoldConfig> = {
  name: 'eventfold-db.smoke',
  title: title('eventfold-db.smoke'),
  seed: SEED,
  summary: 'Health SERVING, ReadAll within 2 s, metrics reachable, the journal holds the log, and kill -9 brings the server back within 10 s with a restart count above 0.',
  config: eventfoldConfig,
  steps: smokeSteps,
};
