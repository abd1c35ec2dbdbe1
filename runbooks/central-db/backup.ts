import { read, write } from '../../lib/core/cmd.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import type { Step } from '../../lib/engine/types.ts';
import { filesStep } from '../../lib/steps/common.ts';
import { type CentralDbConfig, SRV } from './config.ts';

export const backupEnv = (c: CentralDbConfig) =>
  renderAsset('runbooks/central-db/files/backup.env', { BACKUP_BUCKET: c.bucket, BACKUP_PREFIX: c.prefix, BACKUP_KEEP_LOCAL: String(c.keepLocal), POSTGRES_USER: c.adminUser, OCI_CLI_AUTH: c.ociAuth });
export const backupTimer = (c: CentralDbConfig) => renderAsset('systemd/central-db-backup.timer', { BACKUP_SCHEDULE: c.backupSchedule });

export function backupSteps(): Step<CentralDbConfig>[] {
  return [
    filesStep({
      id: 'backup.units',
      title: `Backup script ${SRV.backupScript}, its settings, service and timer`,
      doc: [
        `The seed's \`${SRV.backupScript}\` was never published; this one (\`runbooks/central-db/files/backup.sh\`, bash with \`set -euo pipefail\` and an ERR trap):`,
        '- `pg_dumpall --globals-only` and `pg_dump -Fc` of every database but `postgres` (keep application data in application databases), run inside `postgres-db` (a PostgreSQL 17 server needs a 17 client; the host\'s may be older);',
        '- a Redis snapshot with `redis-cli --rdb` (a replica-style full sync: consistent, no race with a running BGSAVE), the password read inside the container from its config;',
        '- every file\'s SHA-256 and size in `MANIFEST`; uploads with `oci os object put --no-overwrite` (never a prompt that hangs a timer), `MANIFEST` last so a listed manifest means a complete backup;',
        `- then the local copy moves to \`${SRV.backups}/STAMP\` and all but the newest \`BACKUP_KEEP_LOCAL\` are removed.`,
        'Silent on success; on any failure one line on stderr (the journal) naming the stage and the last error, and a non-zero exit, which fails `central-db-backup.service`.',
      ].join('\n'),
      files: (c) => [
        { path: SRV.backupScript, content: readAsset('runbooks/central-db/files/backup.sh'), mode: '0750' },
        { path: SRV.backupEnv, content: backupEnv(c), mode: '0600' },
        { path: '/etc/systemd/system/central-db-backup.service', content: readAsset('systemd/central-db-backup.service'), mode: '0644' },
        { path: '/etc/systemd/system/central-db-backup.timer', content: backupTimer(c), mode: '0644' },
      ],
      after: () => [write(['systemctl', 'daemon-reload'])],
    }),
    {
      id: 'backup.timer',
      title: 'Backup timer enabled and waiting',
      async check({ exec }) {
        const e = await exec.run(read(['systemctl', 'is-enabled', 'central-db-backup.timer'], { okCodes: [0, 1] }));
        const a = await exec.run(read(['systemctl', 'is-active', 'central-db-backup.timer'], { okCodes: [0, 3] }));
        return e.stdout.trim() === 'enabled' && a.stdout.trim() === 'active' ? { done: true, reason: 'enabled and active' } : { done: false, reason: `timer is ${e.stdout.trim()}/${a.stdout.trim()}` };
      },
      async apply({ exec }) {
        await exec.run(write(['systemctl', 'enable', '--now', 'central-db-backup.timer']));
      },
    },
  ];
}
