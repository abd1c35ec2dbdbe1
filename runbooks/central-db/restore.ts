import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { alwaysRunStep } from '../../lib/steps/always-run.ts';
import { type CentralDbConfig, CONTAINERS, SRV } from './config.ts';
import { waitContainer } from './docker.ts';
import { FINGERPRINT_SQL } from './fingerprint.ts';
import { psql, redisCli } from './host-cmds.ts';
import { completeStamps, type ManifestEntry, parseManifest, verifyFiles } from './manifest.ts';
import { databaseExists } from './onboard.ts';
import { redisGate } from './platform.ts';

const oci = (c: CentralDbConfig, args: string[]) => write(['env', `OCI_CLI_AUTH=${c.ociAuth}`, 'oci', ...args], { timeoutMs: 30 * 60_000 });

/** The downloaded, verified backup the later steps restore from (set by restore.fetch). */
interface Fetched {
  dir: string;
  stamp: string;
  entries: ManifestEntry[];
}

/** Errors psql may print for the globals on a fresh platform: the admin role the image made already exists. */
export function unexpectedGlobalsErrors(stderr: string, admin: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /ERROR:/.test(l))
    .filter((l) => !new RegExp(`role "${admin}" already exists`).test(l));
}

/**
 * Copies a host file into postgres-db as /tmp/NAME (the server's own client reads it there), runs
 * `use` with that path, and removes the copy afterwards, also when `use` fails.
 */
export async function inContainer<T>(exec: Executor, hostPath: string, name: string, use: (path: string) => Promise<T>): Promise<T> {
  const p = `/tmp/${name}`;
  const rm = write(['docker', 'exec', CONTAINERS.postgres, 'rm', '-f', p]);
  await exec.run(write(['docker', 'cp', hostPath, `${CONTAINERS.postgres}:${p}`]));
  let out: T;
  try {
    out = await use(p);
  } catch (err) {
    await exec.run(rm).catch(() => undefined); // the first error is the one to report
    throw err;
  }
  await exec.run(rm);
  return out;
}

export function restoreSteps(): Step<CentralDbConfig>[] {
  let got: Fetched | undefined;
  const need = (host: string): Fetched => {
    if (!got) throw new RunbookError('precondition', 'no verified backup: restore.fetch did not run', { host, hint: 'run the whole runbook (without --from/--only)' });
    return got;
  };
  return [
    alwaysRunStep({
      id: 'restore.fetch',
      title: 'Fetch the backup and verify every file (nothing touched yet)',
      doc: `Lists \`BACKUP_PREFIX/\` in \`BACKUP_BUCKET\`, takes the newest stamp that has a \`MANIFEST\` (or \`RESTORE_FROM\`), downloads it into \`${SRV.backups}/restore-STAMP\`, and checks every file's size and SHA-256 against the manifest. Any missing or altered file stops the restore here, before PostgreSQL or Redis is touched.`,
      reason: 'a restore always fetches',
      async apply({ exec, config, log }) {
        const list = await exec.run({ ...oci(config, ['os', 'object', 'list', '--bucket-name', config.bucket, '--prefix', `${config.prefix}/`, '--all']), write: false });
        const names = list.stdout.trim() ? ((JSON.parse(list.stdout) as { data?: { name: string }[] }).data ?? []).map((o) => o.name) : [];
        const stamps = completeStamps(names, config.prefix);
        const stamp = config.restoreFrom === 'newest' ? stamps[0] : stamps.find((s) => s === config.restoreFrom);
        if (!stamp) throw new RunbookError('precondition', `no complete backup ${config.restoreFrom === 'newest' ? '' : `${config.restoreFrom} `}under ${config.bucket}/${config.prefix}/ (complete: ${stamps.slice(0, 5).join(', ') || 'none'})`, { host: exec.host, hint: 'check BACKUP_BUCKET, BACKUP_PREFIX and RESTORE_FROM' });
        const dir = `${SRV.backups}/restore-${stamp}`;
        await exec.run(write(['install', '-d', '-m', '0700', dir]));
        const get = (name: string) => oci(config, ['os', 'object', 'get', '--bucket-name', config.bucket, '--name', `${config.prefix}/${stamp}/${name}`, '--file', `${dir}/${name}`]);
        await exec.run(get('MANIFEST'));
        if (exec.dryRun) return;
        const entries = parseManifest((await exec.run(read(['cat', `${dir}/MANIFEST`]))).stdout, `${stamp}/MANIFEST`);
        for (const e of entries) await exec.run(get(e.name));
        const paths = entries.map((e) => `${dir}/${e.name}`);
        const sums = await exec.run(read(['sha256sum', '--', ...paths], { okCodes: [0, 1] }));
        const sizes = await exec.run(read(['stat', '-c', '%s %n', '--', ...paths], { okCodes: [0, 1] }));
        const problems = verifyFiles(entries, sums.stdout, sizes.stdout);
        if (problems.length) throw new RunbookError('precondition', `backup ${stamp} does not match its manifest, nothing was restored: ${problems.join('; ')}`, { host: exec.host, hint: 'choose another backup with RESTORE_FROM' });
        got = { dir, stamp, entries };
        log(`backup ${stamp}: ${entries.length} files verified (${entries.map((e) => e.name).join(', ')})`);
      },
    }),
    alwaysRunStep({
      id: 'restore.globals',
      title: 'Roles and their attributes (pg_dumpall --globals-only)',
      destructive: 'sets every role in the backup to its backed-up attributes and password',
      doc: 'Replays `globals.sql` as the superuser. On a fresh platform the only expected error is that the admin role exists; any other error fails the step. The admin\'s password is then set back to platform.env\'s by the next step.',
      reason: 'restore requested',
      async apply({ exec, config }) {
        const f = need(exec.host);
        const r = await inContainer(exec, `${f.dir}/globals.sql`, 'restore-globals.sql', (p) =>
          exec.run(write(['docker', 'exec', CONTAINERS.postgres, 'psql', '-X', '-q', '-U', config.adminUser, '-d', 'postgres', '-f', p], { okCodes: [0, 1, 3] })),
        );
        const bad = unexpectedGlobalsErrors(r.stderr, config.adminUser);
        if (r.exitCode !== 0 || bad.length) throw new RunbookError('stepFailed', `globals.sql: ${bad.join('; ') || `psql exit ${r.exitCode}`}`, { host: exec.host });
      },
    }),
    alwaysRunStep({
      id: 'restore.databases',
      title: 'Each database (pg_restore --create, inside the server\'s container)',
      doc: 'Refuses when a database of the backup already exists (a restore never overwrites one: drop it or restore on a fresh platform). Each dump is copied into `postgres-db` and restored there with its own 17 client, `--create --exit-on-error`.',
      reason: 'restore requested',
      async apply({ exec, config, log }) {
        const f = need(exec.host);
        const dbs = f.entries.filter((e) => e.name.startsWith('db-')).map((e) => e.name.slice(3, -5));
        for (const db of dbs) if (await databaseExists(exec, config.adminUser, db)) throw new RunbookError('precondition', `database ${db} already exists on this platform; a restore does not overwrite it`, { host: exec.host, hint: `restore on a fresh platform, or drop ${db} first (central-db.rebuild-db drops and re-creates)` });
        for (const db of dbs) {
          await inContainer(exec, `${f.dir}/db-${db}.dump`, `restore-db-${db}.dump`, (p) =>
            exec.run(write(['docker', 'exec', CONTAINERS.postgres, 'pg_restore', '-U', config.adminUser, '-d', 'postgres', '--create', '--exit-on-error', p], { timeoutMs: 6 * 3600_000 })),
          );
          log(`${db} restored`);
        }
      },
      async verify({ exec, config, log }) {
        const f = need(exec.host);
        for (const e of f.entries.filter((x) => x.name.startsWith('db-'))) {
          const db = e.name.slice(3, -5);
          const r = await exec.run(psql(config.adminUser, db, FINGERPRINT_SQL, { write: false }));
          for (const l of r.stdout.trim().split('\n').filter(Boolean)) log(`fingerprint ${db} ${l}`);
        }
      },
    }),
    {
      id: 'restore.redis',
      title: 'Redis data from the snapshot',
      destructive: 'replaces the Redis data set with the backup\'s',
      doc: 'Stops `redis`, puts `redis.rdb` in place as `/srv/data/redis/dump.rdb` (owner kept from the folder), starts it and waits for the authenticated PING.',
      async check({ exec }) {
        return need(exec.host).entries.some((e) => e.name === 'redis.rdb') ? { done: false, reason: 'restore requested' } : { done: true, reason: 'the backup has no Redis snapshot' };
      },
      async apply({ exec, config, log }) {
        const f = need(exec.host);
        const owner = (await exec.run(read(['stat', '-c', '%u:%g', SRV.redis]))).stdout.trim();
        await exec.run(write(['docker', 'stop', CONTAINERS.redis], { timeoutMs: 120_000 }));
        await exec.run(write(['install', '-m', '0600', '-o', owner.split(':')[0] ?? '0', '-g', owner.split(':')[1] ?? '0', `${f.dir}/redis.rdb`, `${SRV.redis}/dump.rdb`]));
        await exec.run(write(['docker', 'start', CONTAINERS.redis], { timeoutMs: 120_000 }));
        if (exec.dryRun) return;
        await waitContainer(exec, CONTAINERS.redis, config.gateDeadlineMs);
        const g = await redisGate(exec, config);
        if (g) throw new RunbookError('stepFailed', `Redis after the restore: ${g}`, { host: exec.host, hint: 'docker logs --tail 50 redis' });
        log(`Redis keys: ${(await exec.run(redisCli(config.redisPassword, ['DBSIZE']))).stdout.trim()}`);
      },
      async verify() {},
    },
  ];
}
