// eventfold-tools: what the EventfoldDB runbooks run ON the host (installed to
// /opt/eventfold-db/tools/, run by the backup timer): health, read-all digest, backup, restore,
// log verification. Silent on success except for the JSON a command is asked for; errors go to
// stderr as one line and exit 1 (75 when another backup is running: this run did nothing), so
// the timer's journal and exit status tell the story.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { readEnvFile } from '../../../lib/config/env-file.ts';
import { EventfoldClient } from '../protocol/client.ts';
import { describeDamage, isHealthy, scanLog } from '../protocol/logformat.ts';
import { OciCli, type OciAuth } from '../../../lib/oci/cli.ts';
import { runBackup } from './backup.ts';
import { BackupRunning } from './lock.ts';
import { runRestore } from './restore.ts';
import { serverClientOptions } from './server-client.ts';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    addr: { type: 'string', default: '127.0.0.1:2113' },
    deadline: { type: 'string', default: '2000' },
    'connect-timeout': { type: 'string', default: '10000' },
    config: { type: 'string', default: '/etc/eventfold-db/backup.env' },
    'server-env': { type: 'string', default: '/etc/eventfold-db/eventfold-db.env' },
    out: { type: 'string' },
    manifest: { type: 'string' },
    'from-host': { type: 'string' },
    full: { type: 'boolean' },
    json: { type: 'boolean' },
  },
});

function backupConfig() {
  const e = readEnvFile(o.config as string);
  const get = (k: string, d?: string) => e.get(k)?.value || d || (() => { throw new Error(`${o.config}: ${k} is required`); })();
  const auth = get('OCI_CLI_AUTH', 'instance_principal') as OciAuth;
  return {
    // Transfers bound each attempt by their size (transfer.ts); other calls keep the CLI wrapper's 2 minutes.
    oci: new OciCli({ auth, profile: e.get('OCI_CLI_PROFILE')?.value || undefined, deadlineMs: 10 * 60_000 }),
    cfg: {
      logPath: get('EVENTFOLD_DATA', '/data/eventfold.log'),
      bucket: get('BACKUP_BUCKET'),
      prefix: get('BACKUP_PREFIX'),
      retentionDays: Number(get('BACKUP_RETENTION_DAYS', '14')),
      fullEveryDays: Number(get('BACKUP_FULL_EVERY_DAYS', '7')),
      stateDir: get('BACKUP_STATE_DIR', '/var/lib/eventfold-backup'),
    },
  };
}

async function main(): Promise<void> {
  const cmd = positionals[0];
  if (cmd === 'health') {
    const c = new EventfoldClient(o.addr as string, serverClientOptions(o['server-env'] as string, Number(o.deadline)));
    try {
      await c.connect(Number(o['connect-timeout']));
      const s = await c.health();
      if (s !== 'SERVING') throw new Error(`health of ${o.addr} is ${s}`);
    } finally {
      c.close();
    }
  } else if (cmd === 'read-all') {
    // Count and a digest of (position, event id) in order: equal digests mean the same events in the same order.
    const c = new EventfoldClient(o.addr as string, serverClientOptions(o['server-env'] as string, Number(o.deadline)));
    try {
      // The 2 s of the smoke check is the server's answer: connect (and TLS) first, then time the reads.
      await c.connect(Number(o['connect-timeout']));
      const t0 = Date.now();
      const evs = await c.readEverything();
      const digest = createHash('sha256').update(evs.map((e) => `${e.global_position}:${e.event_id}`).join('\n')).digest('hex');
      process.stdout.write(`${JSON.stringify({ events: evs.length, last: evs.at(-1)?.global_position ?? null, digest, ms: Date.now() - t0 })}\n`);
    } finally {
      c.close();
    }
  } else if (cmd === 'verify-log') {
    const path = positionals[1] ?? '/data/eventfold.log';
    const ids: string[] = [];
    const r = await scanLog(path, { onRecords: (rs) => rs.forEach((x) => ids.push(`${x.globalPosition}:${x.eventId}`)) });
    const digest = createHash('sha256').update(ids.join('\n')).digest('hex');
    const damaged = r.damaged ? { ...r.damaged, afterPosition: r.damaged.afterPosition?.toString() ?? null } : undefined;
    process.stdout.write(`${JSON.stringify({ ...r, damaged, firstGlobalPosition: r.firstGlobalPosition?.toString() ?? null, lastGlobalPosition: r.lastGlobalPosition?.toString() ?? null, digest })}\n`);
    if (!isHealthy(r)) {
      process.stderr.write(`eventfold-tools: ${describeDamage(r, path)}\n`);
      process.exitCode = 1;
    }
  } else if (cmd === 'backup') {
    const { oci, cfg } = backupConfig();
    const r = await runBackup(oci, { ...cfg, full: Boolean(o.full) });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else if (cmd === 'restore') {
    const { oci, cfg } = backupConfig();
    if (!o.out) throw new Error('restore needs --out FILE');
    const r = await runRestore(oci, { bucket: cfg.bucket, prefix: cfg.prefix, out: o.out as string, manifest: o.manifest as string | undefined, fromHost: o['from-host'] as string | undefined });
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    throw new Error('usage: eventfold-tools health|read-all|verify-log [FILE]|backup [--full]|restore --out NEW-FILE [--manifest NAME] [--from-host HOST] [--config FILE]; health and read-all use the TLS and JWT settings of --server-env FILE');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`eventfold-tools: ${(e as Error).message}\n`);
  // 75 (EX_TEMPFAIL): another backup holds the lock; this run did nothing.
  process.exitCode = e instanceof BackupRunning ? e.exitCode : 1;
});
