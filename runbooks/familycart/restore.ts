// familycart.restore: fetch the newest dump (or a named one) from Object Storage, verify it before
// the database is touched, restore it, and prove the tables equal what the backup recorded.
import { read, write } from '../../lib/core/cmd.ts';
import { readAsset } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { alwaysRunStep } from '../../lib/steps/always-run.ts';
import { BACKUP_DIR, COMPOSE_ENV, OPT, type StatefulConfig } from './config.ts';

const DIR = `${BACKUP_DIR}/restore`;
const compose = ['docker', 'compose', '--project-directory', OPT, '--env-file', COMPOSE_ENV, '-f', `${OPT}/stateful.yaml`];

export interface Manifest {
  dump: string;
  sha256: string;
  size: number;
  createdAt: string;
  tables: Record<string, { rows: number; md5: string }>;
}

export const restoreCmds = {
  list: (c: StatefulConfig) => read(['oci', '--auth', c.ociAuth, 'os', 'object', 'list', '--bucket-name', c.backupBucket, '--prefix', `${c.backupPrefix}/familycart_`, '--all'], { timeoutMs: 120_000 }),
  get: (c: StatefulConfig, name: string, file: string) => write(['oci', '--auth', c.ociAuth, 'os', 'object', 'get', '--bucket-name', c.backupBucket, '--name', `${c.backupPrefix}/${name}`, '--file', file], { timeoutMs: 6 * 3600_000 }),
  sha: (file: string) => read(['sha256sum', '--', file]),
  size: (file: string) => read(['stat', '-c', '%s', '--', file]),
  copyIn: (file: string) => write([...compose, 'cp', file, 'postgres:/tmp/restore.dump']),
  readable: () => read([...compose, 'exec', '-T', 'postgres', 'pg_restore', '--list', '/tmp/restore.dump']),
  restore: () => write([...compose, 'exec', '-T', 'postgres', 'sh', '-c', 'exec pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error -U "$POSTGRES_USER" -d "$POSTGRES_DB" /tmp/restore.dump'], { timeoutMs: 6 * 3600_000 }),
  fingerprint: () => read([...compose, 'exec', '-T', 'postgres', 'sh', '-c', 'exec psql -X -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f -'], { stdin: readAsset('runbooks/familycart/files/fingerprint.sql') }),
};

/** The newest manifest among the listed objects (names carry a sortable UTC stamp). */
export function newestManifest(listJson: string): string | null {
  let names: string[] = [];
  try {
    names = ((JSON.parse(listJson || '{}') as { data?: { name: string }[] }).data ?? []).map((o) => o.name);
  } catch {
    return null;
  }
  const m = names.map((n) => n.split('/').at(-1) as string).filter((n) => /^familycart_\d{8}T\d{6}Z\.json$/.test(n)).sort();
  return m.at(-1) ?? null;
}

/** Lines "rows md5 schema.table" (fingerprint.sql) into the manifest's shape. */
export function parseFingerprint(text: string): Manifest['tables'] {
  const out: Manifest['tables'] = {};
  for (const l of text.split('\n').filter((x) => x.trim())) {
    const [rows, md5, ...name] = l.trim().split(' ');
    if (rows && md5 && name.length) out[name.join(' ')] = { rows: Number(rows), md5 };
  }
  return out;
}

/** What differs between the recorded tables and the restored ones, one phrase per table. */
export function fingerprintDiff(want: Manifest['tables'], got: Manifest['tables']): string[] {
  const diffs: string[] = [];
  for (const t of new Set([...Object.keys(want), ...Object.keys(got)])) {
    const a = want[t];
    const b = got[t];
    if (!a) diffs.push(`${t} is new`);
    else if (!b) diffs.push(`${t} is missing`);
    else if (a.rows !== b.rows) diffs.push(`${t} has ${b.rows} rows, the backup ${a.rows}`);
    else if (a.md5 !== b.md5) diffs.push(`${t} rows differ (checksum)`);
  }
  return diffs;
}

export function restoreSteps(): Step<StatefulConfig>[] {
  let manifest: Manifest | null = null;
  const fetchAndVerify = async (exec: Executor, c: StatefulConfig, log: (m: string) => void): Promise<Manifest> => {
    const name = newestManifest((await exec.run(restoreCmds.list(c))).stdout);
    if (!name) throw new RunbookError('precondition', `no familycart_*.json manifest under ${c.backupBucket}/${c.backupPrefix}/`, { host: exec.host, hint: 'check BACKUP_BUCKET and BACKUP_PREFIX' });
    await exec.run(write(['install', '-d', '-m', '0700', DIR]));
    await exec.run(restoreCmds.get(c, name, `${DIR}/manifest.json`));
    const m = JSON.parse((await exec.run(read(['cat', '--', `${DIR}/manifest.json`]))).stdout) as Manifest;
    if (!/^familycart_\d{8}T\d{6}Z\.dump$/.test(m.dump) || !/^[0-9a-f]{64}$/.test(m.sha256)) throw new RunbookError('stepFailed', `${name} is not a FamilyCart manifest`, { host: exec.host });
    const dump = `${DIR}/${m.dump}`;
    await exec.run(restoreCmds.get(c, m.dump, dump));
    const sha = (await exec.run(restoreCmds.sha(dump))).stdout.split(' ')[0];
    const size = Number((await exec.run(restoreCmds.size(dump))).stdout.trim());
    if (sha !== m.sha256 || size !== m.size) {
      throw new RunbookError('stepFailed', `${m.dump} does not match its manifest (${size} bytes, sha256 ${sha}; the manifest says ${m.size} bytes, ${m.sha256}): the database was not touched`, { host: exec.host, hint: 'take a fresh backup or name an older manifest' });
    }
    await exec.run(restoreCmds.copyIn(dump));
    const ok = await exec.probe(restoreCmds.readable());
    if (ok.exitCode !== 0) throw new RunbookError('stepFailed', `pg_restore cannot read ${m.dump}: the database was not touched`, { host: exec.host });
    log(`${m.dump} (${m.size} bytes, ${Object.keys(m.tables).length} tables, taken ${m.createdAt}) verified`);
    return m;
  };
  return [
    alwaysRunStep({
      id: 'restore.fetch',
      title: 'Fetch the newest dump and verify it (database untouched)',
      doc: 'Lists the bucket, takes the newest `familycart_*.json` manifest, downloads its dump, checks size and SHA-256, and has `pg_restore --list` read it inside the container. Anything wrong stops here.',
      reason: 'a restore always fetches',
      async apply({ exec, config, log }) {
        manifest = await fetchAndVerify(exec, config, log);
      },
    }),
    alwaysRunStep({
      id: 'restore.load',
      title: 'Restore the dump and prove every table equals the backup',
      destructive: 'replaces the FamilyCart database\'s tables with the dump\'s (one transaction: a failure leaves the database as it was)',
      reason: 'restore requested',
      async apply({ exec }) {
        if (exec.dryRun) return;
        await exec.run(restoreCmds.restore());
      },
      async verify({ exec }) {
        if (exec.dryRun || !manifest) return;
        const got = parseFingerprint((await exec.run(restoreCmds.fingerprint())).stdout);
        const diffs = fingerprintDiff(manifest.tables, got);
        if (diffs.length) throw new RunbookError('stepFailed', `the restored database differs from the backup: ${diffs.slice(0, 5).join('; ')}`, { host: exec.host });
      },
    }),
  ];
}
