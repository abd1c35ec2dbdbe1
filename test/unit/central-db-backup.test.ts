// backup.sh (the seed's unpublished /srv/apps/backup.sh) run for real with bash: a fake `docker`
// answering the calls it makes inside the containers, and the OCI CLI stand-in as Object Storage.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseManifest, verifyFiles } from '../../runbooks/central-db/manifest.ts';

const SCRIPT = new URL('../../runbooks/central-db/files/backup.sh', import.meta.url).pathname;
const OCI_BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
const FAKE_DOCKER = `#!/bin/bash
# Fake docker for the backup.sh tests: answers only the calls backup.sh makes.
[ "$1" = exec ] || { echo "fake docker: unexpected $*" >&2; exit 2; }
shift; c=$1; shift
case "$c $1" in
  "postgres-db pg_dumpall") echo "CREATE ROLE trading_app_user;" ;;
  "postgres-db psql") case "$*" in *server_version*) echo 17.2 ;; *datname*) printf 'analytics\\ntrading_db\\n' ;; *) exit 2 ;; esac ;;
  "postgres-db pg_dump")
    db=\${*: -1}
    if [ "$db" = "\${FAIL_DUMP:-}" ]; then printf partial; echo "pg_dump: error: connection to server on socket failed" >&2; exit 1; fi
    printf 'PGDMP-%s' "$db" ;;
  "redis sh") printf 'REDIS0011-snapshot' > "$REDIS_DATA/.backup.rdb"; echo "Transfer finished with success." ;;
  *) echo "fake docker: unexpected $c $*" >&2; exit 2 ;;
esac
`;

let dir = '';
let env: Record<string, string> = {};
const oci = (args: string[]) => execa(join(OCI_BIN, 'oci'), args, { env, reject: false });
const objects = async () => {
  const r = await oci(['os', 'object', 'list', '--bucket-name', 'central-db-backups', '--all']);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { data?: { name: string }[] }).data?.map((o) => o.name).sort() ?? [] : [];
};
const backup = (extra: Record<string, string> = {}) => execa('bash', [SCRIPT], { env: { ...env, ...extra }, reject: false, timeout: 120_000 });
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdb-backup-'));
  for (const d of ['bin', 'backups', 'redis']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'bin/docker'), FAKE_DOCKER, { mode: 0o755 });
  writeFileSync(join(dir, 'backup.env'), 'BACKUP_BUCKET=central-db-backups\nBACKUP_PREFIX=central-db/test\nBACKUP_KEEP_LOCAL=2\nPOSTGRES_USER=platform_admin\nOCI_CLI_AUTH=instance_principal\n');
  env = {
    PATH: `${join(dir, 'bin')}:${OCI_BIN}:${process.env.PATH}`,
    CENTRAL_DB_BACKUP_ENV: join(dir, 'backup.env'),
    BACKUP_ROOT: join(dir, 'backups'),
    REDIS_DATA: join(dir, 'redis'),
    OCI_STANDIN_ROOT: join(dir, 'oci'),
  };
  expect((await oci(['os', 'bucket', 'create', '--name', 'central-db-backups', '--compartment-id', 'ocid1.compartment.oc1..test'])).exitCode).toBe(0);
});

describe('backup.sh', () => {
  it('is silent on success: every database, globals and Redis, hashed, uploaded with the manifest, old local copies rotated', async () => {
    mkdirSync(join(dir, 'backups/20200101T000000Z'));
    mkdirSync(join(dir, 'backups/20200102T000000Z'));
    const r = await backup();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
    const local = readdirSync(join(dir, 'backups')).sort();
    expect(local).toHaveLength(2);
    expect(local[0]).toBe('20200102T000000Z');
    const stamp = local[1] as string;
    expect(stamp).toMatch(/^\d{8}T\d{6}Z$/);
    const b = join(dir, 'backups', stamp);
    const manifest = readFileSync(join(b, 'MANIFEST'), 'utf8');
    expect(manifest).toContain('# postgres 17.2');
    const entries = parseManifest(manifest);
    expect(entries.map((e) => e.name)).toEqual(['globals.sql', 'db-analytics.dump', 'db-trading_db.dump', 'redis.rdb']);
    const paths = entries.map((e) => join(b, e.name));
    const sums = paths.map((p) => `${sha(p)}  ${p}`).join('\n');
    const sizes = paths.map((p) => `${readFileSync(p).length} ${p}`).join('\n');
    expect(verifyFiles(entries, sums, sizes)).toEqual([]);
    expect(readFileSync(join(b, 'db-trading_db.dump'), 'utf8')).toBe('PGDMP-trading_db');
    expect(existsSync(join(dir, 'redis/.backup.rdb'))).toBe(false);
    expect(await objects()).toEqual(['MANIFEST', 'db-analytics.dump', 'db-trading_db.dump', 'globals.sql', 'redis.rdb'].map((n) => `central-db/test/${stamp}/${n}`).sort());
  }, 120_000);

  it('fails with one line naming the stage when a dump fails mid-way, leaving nothing behind', async () => {
    const r = await backup({ FAIL_DUMP: 'trading_db' });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^central-db backup \d{8}T\d{6}Z failed at pg_dump trading_db \(exit 1\): pg_dump: error: connection to server on socket failed$/m);
    expect(readdirSync(join(dir, 'backups')).filter((n) => !n.startsWith('.last-error'))).toEqual([]);
    expect(await objects()).toEqual([]);
  }, 120_000);

  it('fails with one line when the upload is refused, and uploads no manifest', async () => {
    const r = await backup({ OCI_STANDIN_DENY: 'os object put' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/failed at upload globals.sql \(exit 1\): "code": "BucketNotFound"/);
    expect((await objects()).filter((n) => n.endsWith('/MANIFEST'))).toEqual([]);
  }, 120_000);
});
