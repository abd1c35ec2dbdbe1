// First-boot user-data of EventfoldDB: one env file in, each runbook's own env file out (read
// back by the same strict reader), within OCI's metadata limit, and refusals for what first boot
// cannot or must not carry.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { envText, loadConfig } from '../../lib/config/schema.ts';
import { readEnvFile } from '../../lib/config/env-file.ts';
import { renderUserData } from '../../lib/core/assets.ts';
import { Secret } from '../../lib/core/secret.ts';
import { baseHostConfig } from '../../runbooks/base-host/index.ts';
import { OCI_USER_DATA_LIMIT, bootstrapConfig, bootstrapVars } from '../../runbooks/eventfold-db/bootstrap.ts';
import { eventfoldConfig } from '../../runbooks/eventfold-db/config.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { putRelease, releaseSource } from '../../runbooks/eventfold-db/release-source.ts';
import { ScriptedExecutor, runbookErrorOf } from './fakes.ts';

const dir = mkdtempSync(join(tmpdir(), 'boot-'));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `f${n++}.env`);
  writeFileSync(p, text);
  chmodSync(p, 0o600);
  return p;
};

const SHA = 'a'.repeat(64);
const good: Record<string, string> = {
  ADMIN_SSH_KEYS: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKeyOpsKeyOpsKeyOpsKeyOpsKeyOpsKey ops@laptop; ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISecondKeySecondKeySecondKeySecondKey2 b@c',
  OPERATOR_CIDRS: '198.51.100.0/24, 2001:db8::/48',
  APP_CIDRS: '10.0.1.0/24',
  MONITORING_CIDRS: '10.0.2.0/24',
  BACKUP_BUCKET: 'eventfold-backups',
  BACKUP_PREFIX: 'eventfold/prd016',
  BACKUP_SCHEDULE: 'Mon..Fri *-*-* 02:00',
  RELEASE_BUCKET: 'artifacts',
  RELEASE_OBJECT: 'eventfold-db/0.16.0/eventfold-db',
  RELEASE_VERSION: '0.16.0',
  RELEASE_SHA256: SHA,
  RUNBOOK_BUNDLE_BUCKET: 'artifacts',
  RUNBOOK_BUNDLE_OBJECT: 'runbook/runbook-bundle.tar.gz',
  RUNBOOK_BUNDLE_SHA256: 'b'.repeat(64),
};
const envOf = (v: Record<string, string>) => file(Object.entries(v).map(([k, x]) => `${k}="${x}"\n`).join(''));
const render = (v: Record<string, string>) => renderUserData('cloud-init/eventfold-db.yaml', bootstrapVars(loadConfig(bootstrapConfig, [envOf(v)])));
const configError = runbookErrorOf;

describe('EventfoldDB first-boot user-data', () => {
  it('writes each runbook its own env file, which reads back to the same config', () => {
    const ud = render(good);
    expect(Buffer.byteLength(ud)).toBeLessThan(OCI_USER_DATA_LIMIT);
    const doc = parseYaml(ud) as { write_files: { path: string; permissions: string; content: string }[]; runcmd: string[][]; users: { name: string }[] };
    const files = Object.fromEntries(doc.write_files.map((f) => [f.path, f]));
    expect(doc.users[0]?.name).toBe('admin');
    expect(doc.runcmd).toEqual([['/usr/local/sbin/runbook-bootstrap']]);
    for (const p of ['/etc/runbook/base-host.env', '/etc/runbook/eventfold-db.env', '/etc/runbook/bootstrap.env']) expect(files[p]?.permissions).toBe('0600');
    const out = (p: string) => file(Buffer.from(files[p]?.content ?? '', 'base64').toString());
    const base = loadConfig(baseHostConfig, [out('/etc/runbook/base-host.env')]);
    expect(base.sshKeys).toHaveLength(2);
    expect(base.operatorCidrs).toEqual(['198.51.100.0/24', '2001:db8::/48']);
    const ef = loadConfig(eventfoldConfig, [out('/etc/runbook/eventfold-db.env')]);
    expect(ef).toMatchObject({ releaseBucket: 'artifacts', releaseObject: 'eventfold-db/0.16.0/eventfold-db', releaseSha256: SHA, backupSchedule: 'Mon..Fri *-*-* 02:00', releaseFile: '' });
    const boot = readEnvFile(out('/etc/runbook/bootstrap.env'));
    expect(boot.get('RUNBOOKS')?.value).toBe('base-host eventfold-db');
    expect(boot.get('RUNBOOK_BUNDLE_SHA256')?.value).toBe('b'.repeat(64));
    expect(boot.get('OCI_CLI_AUTH')?.value).toBe('instance_principal');
    expect(Buffer.from(files['/usr/local/sbin/runbook-bootstrap']?.content ?? '', 'base64').toString()).toMatch(/^#!\/bin\/bash\n/);
  });

  it('refuses a secret, a local release file, and a missing release object', () => {
    const jwt = configError(() => render({ ...good, EVENTFOLD_JWT_SECRET: 's'.repeat(40) }));
    expect(jwt.message).toMatch(/EVENTFOLD_JWT_SECRET cannot go into user-data/);
    expect(jwt.message).not.toContain('s'.repeat(40));
    expect(configError(() => render({ ...good, RELEASE_FILE: './eventfold-db' })).message).toMatch(/RELEASE_FILE names a file/);
    const { RELEASE_OBJECT: _o, ...noObject } = good;
    expect(configError(() => render(noObject)).message).toMatch(/RELEASE_OBJECT is required/);
    expect(configError(() => render({ ...good, RUNBOOK_BUNDLE_SHA256: 'nope' })).message).toMatch(/RUNBOOK_BUNDLE_SHA256 must be 64 lowercase hex digits/);
  });
});

describe('env files written for a host', () => {
  it('quote what needs quoting and read back exactly', () => {
    const values = { A: 'plain', B: 'two words; and $HOME', C: 'x=y/z:1,2', D: new Secret('D', 'p@ss word') };
    const m = readEnvFile(file(envText(Object.keys(values), values, '# header')));
    expect([...m].map(([k, e]) => [k, e.value])).toEqual([['A', 'plain'], ['B', 'two words; and $HOME'], ['C', 'x=y/z:1,2'], ['D', 'p@ss word']]);
  });
  it('refuse a value a single-quoted line cannot carry', () => {
    expect(configError(() => envText(['A'], { A: "it's" })).message).toMatch(/A holds a single quote/);
  });
});

describe('the release source', () => {
  const base = loadConfig(eventfoldConfig, [envOf({ APP_CIDRS: '10.0.1.0/24', MONITORING_CIDRS: '10.0.2.0/24', BACKUP_BUCKET: 'b', BACKUP_PREFIX: 'p' })]);
  it('is a file or an object, never both or neither', () => {
    expect(configError(() => releaseSource(base, 'h')).message).toMatch(/RELEASE_VERSION and RELEASE_SHA256/);
    const v = { ...base, releaseVersion: '1', releaseSha256: SHA };
    expect(configError(() => releaseSource(v, 'h')).message).toMatch(/no release source/);
    expect(configError(() => releaseSource({ ...v, releaseFile: '/x', releaseBucket: 'b', releaseObject: 'o' }, 'h')).message).toMatch(/both set/);
    expect(configError(() => releaseSource({ ...v, releaseBucket: 'b' }, 'h')).message).toMatch(/go together/);
    expect(releaseSource({ ...v, releaseBucket: 'b', releaseObject: 'o' }, 'h')).toEqual({ bucket: 'b', object: 'o' });
    expect(configError(() => releaseSource({ ...v, releaseFile: join(dir, 'missing') }, 'h')).message).toMatch(/cannot read RELEASE_FILE/);
  });

  it('refuses a local file whose SHA-256 differs, and uploads the bytes it checked', async () => {
    const bin = join(dir, 'release.bin');
    writeFileSync(bin, 'release bytes');
    const v = { ...base, releaseVersion: '1', releaseFile: bin };
    expect(configError(() => releaseSource({ ...v, releaseSha256: SHA }, 'h')).message).toMatch(/has SHA-256 [0-9a-f]{64}, not RELEASE_SHA256/);
    const good = { ...v, releaseSha256: createHash('sha256').update('release bytes').digest('hex') };
    const ex = new ScriptedExecutor();
    await putRelease(ex, good, releaseSource(good, 'h'), '/opt/r/1/eventfold-db.partial', () => {});
    expect(ex.calls.map((c) => [c.argv.at(-1), String(c.stdin)])).toEqual([['/opt/r/1/eventfold-db.partial', 'release bytes']]);
  });

  it('an object fetch says what failed and leaves no partial file; no OCI CLI is a precondition', async () => {
    const c = { ...base, releaseVersion: '1', releaseSha256: SHA, releaseBucket: 'b', releaseObject: 'o/r' };
    const partial = '/opt/r/1/eventfold-db.partial';
    const failing = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'oci' ? { exitCode: 1, stderr: 'ServiceError: {"status": 404, "code": "ObjectNotFound"}' } : {}));
    const err = await putRelease(failing, c, releaseSource(c, 'h'), partial, () => {}).catch((e: unknown) => e as RunbookError);
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).message).toMatch(/fetching b\/o\/r failed: .*ObjectNotFound/);
    expect((err as RunbookError).hint).toMatch(/oci os object head --bucket-name b --name o\/r/);
    expect(failing.calls.at(-1)?.argv).toEqual(['rm', '-f', partial]);
    const noCli = new ScriptedExecutor((cmd) => (cmd.argv.join(' ') === 'sh -c command -v oci' ? { exitCode: 1 } : {}));
    const pre = await putRelease(noCli, c, releaseSource(c, 'h'), partial, () => {}).catch((e: unknown) => e as RunbookError);
    expect((pre as RunbookError).kind).toBe('precondition');
    expect(noCli.calls.filter((x) => x.write)).toEqual([]);
  });
});
