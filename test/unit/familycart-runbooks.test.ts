// FamilyCart runbooks: exact argv of the builders, the parsers, config refusals, and the deploy
// step's gates and automatic rollback against a scripted host.
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../lib/core/cmd.ts';
import { exampleValues, loadConfig } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { appConfig, statefulConfig } from '../../runbooks/familycart/config.ts';
import { fcCmds, nextState, parseHealth, platformProblem } from '../../runbooks/familycart/commands.ts';
import { deployStep, rollbackStep } from '../../runbooks/familycart/deploy.ts';
import { fingerprintDiff, newestManifest, parseFingerprint, restoreSteps } from '../../runbooks/familycart/restore.ts';
import { appEnv, cfUnit, statefulEnv } from '../../runbooks/familycart/hosts.ts';
import { ScriptedExecutor } from './fakes.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const app = () => ({ ...appConfig.build(exampleValues(appConfig)), healthDeadlineSeconds: 1 });
const healthy = '{"status":"healthy","version":"1","checks":{"cache":"healthy"}}';

describe('builders', () => {
  it('docker login takes the token on stdin only', () => {
    const c = fcCmds.login('ghcr.io', 'deploy', new Secret('REGISTRY_PASSWORD', 'tok-123456789'));
    expect(c.argv).toEqual(['docker', 'login', '--username', 'deploy', '--password-stdin', 'ghcr.io']);
    expect(c.argv.join(' ')).not.toContain('tok-123456789');
    expect((c.stdin as Secret).reveal()).toBe('tok-123456789');
  });
  it('compose runs against the installed files with the interpolation env file', () => {
    expect(fcCmds.upNoWait('app').argv).toEqual(['docker', 'compose', '--project-directory', '/opt/familycart', '--env-file', '/opt/familycart/compose.env', '-f', '/opt/familycart/app.yaml', 'up', '-d', '--remove-orphans']);
    expect(fcCmds.up('stateful').argv.slice(-6)).toEqual(['up', '-d', '--remove-orphans', '--wait', '--wait-timeout', '600']);
    expect(fcCmds.pull('app').argv.slice(-4)).toEqual(['pull', '--quiet', '--policy', 'missing']);
    expect(fcCmds.platform('r/x:1').argv).toEqual(['docker', 'image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}', 'r/x:1']);
    expect(fcCmds.pgDump().argv.slice(-6)).toEqual(['exec', '-T', 'postgres', 'sh', '-c', 'exec pg_dump -Fc -U "$POSTGRES_USER" "$POSTGRES_DB"']);
  });
  it('the allowlist service refreshes from the configured URL and keeps nginx in step', () => {
    expect(cfUnit({ ...app(), cfIpsUrl: 'http://10.0.2.100/ips' })).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/familycart\/tools\/cf-allowlist\.mjs refresh --url http:\/\/10\.0\.2\.100\/ips --nginx-file \/etc\/nginx\/conf\.d\/cloudflare-realip\.conf$/m);
  });
  it('env files carry the secrets to the containers, and the stateful host\'s address to the app', () => {
    const e = appEnv(app());
    expect(e).toMatch(/^POSTGRES_SERVER=10\.0\.1\.10$/m);
    expect(e).toMatch(/^REDIS_HOST=10\.0\.1\.10$/m);
    expect(e).toMatch(/^REDIS_PASSWORD=change-me-redis-password-0123456789ab$/m);
    expect(statefulEnv(statefulConfig.build(exampleValues(statefulConfig)))).toMatch(/^POSTGRES_PASSWORD=change-me-postgres-password-0123456789$/m);
  });
});

describe('parsers', () => {
  it('platform: only linux/arm64 passes, with a clear refusal for the upstream amd64 images', () => {
    expect(platformProblem('x', 'linux/arm64\n')).toBeNull();
    expect(platformProblem('x', 'linux/arm64/v8')).toBeNull();
    expect(platformProblem('ghcr.io/f/b:abc1234', 'linux/amd64')).toMatch(/ghcr\.io\/f\/b:abc1234 is linux\/amd64, not linux\/arm64: the upstream FamilyCart images are built for amd64 only/);
    expect(platformProblem('x', '')).toMatch(/not present after the pull/);
  });
  it('health: healthy passes, a degraded cache is a warning, anything else fails', () => {
    expect(parseHealth(healthy)).toEqual({ ok: true, reason: 'healthy, cache healthy' });
    expect(parseHealth('{"status":"healthy","checks":{"cache":"degraded"}}')).toMatchObject({ ok: true, warning: expect.stringMatching(/cache \(Redis\) degraded/) });
    expect(parseHealth('{"status":"unhealthy"}')).toMatchObject({ ok: false, reason: '/health status is "unhealthy"' });
    expect(parseHealth('<html>')).toMatchObject({ ok: false });
  });
  it('the previous SHA is the one a new deploy replaced; a re-deploy keeps it', () => {
    expect(nextState({ current: 'aaaaaaa', previous: 'bbbbbbb' }, 'ccccccc')).toEqual({ current: 'ccccccc', previous: 'aaaaaaa' });
    expect(nextState({ current: 'ccccccc', previous: 'aaaaaaa' }, 'ccccccc')).toEqual({ current: 'ccccccc', previous: 'aaaaaaa' });
    expect(nextState({}, 'ccccccc')).toEqual({ current: 'ccccccc', previous: undefined });
  });
});

describe('config refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fccfg-'));
  const env = (over: Record<string, string>) => {
    const v = { ...Object.fromEntries(Object.entries(exampleValues(appConfig)).map(([k, x]) => [k, x instanceof Secret ? x.reveal() : (x ?? '')])), ...over };
    for (const k of Object.keys(v)) if (v[k] === '') delete v[k];
    const f = join(dir, `${Object.keys(over).join('-')}.env`);
    writeFileSync(f, Object.entries(v).map(([k, x]) => `${k}='${x}'`).join('\n'), { mode: 0o600 });
    return f;
  };
  it.each([
    [{ FAMILYCART_SHA: 'latest' }, /FAMILYCART_SHA must be a commit SHA/],
    [{ REDIS_PASSWORD: 'short' }, /REDIS_PASSWORD must be 24 to 128/],
    [{ REDIS_PASSWORD: 'has"quote-and-is-long-enough-1234' }, /REDIS_PASSWORD must be 24 to 128/],
    [{ STATEFUL_PRIVATE_IP: '10.0.1' }, /STATEFUL_PRIVATE_IP must be an IPv4 address/],
    [{ CF_IPS_URL: 'ftp://x' }, /CF_IPS_URL must be an http\(s\) URL/],
    [{ BACKEND_IMAGE: 'ghcr.io/f/b:latest' }, /BACKEND_IMAGE must be an image name without a tag/],
    [{ REGISTRY_PASSWORD: '' }, /REGISTRY_USER and REGISTRY_PASSWORD go together/],
  ])('refuses %o', (over, why) => {
    let err: unknown;
    try {
      loadConfig(appConfig, [env(over)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as Error).message).toMatch(why);
  });
});

/** A host whose images, health and recorded state the test decides. */
function host(o: { platform?: (image: string) => string; health?: (sha: string) => string; state?: object }) {
  let sha = '';
  const state = { text: o.state ? JSON.stringify(o.state) : '' };
  const exec = new ScriptedExecutor((cmd: Cmd) => {
    const a = cmd.argv.join(' ');
    if (a.startsWith('cat -- /var/lib/familycart/deploy.json')) return state.text ? { stdout: state.text } : { exitCode: 1 };
    if (a.startsWith('install ') && cmd.file?.path === '/opt/familycart/compose.env') sha = /FAMILYCART_SHA=(\w+)/.exec(String(cmd.stdin))?.[1] ?? '';
    if (a.startsWith('install ') && cmd.file?.path === '/var/lib/familycart/deploy.json') state.text = String(cmd.stdin);
    if (a.startsWith('docker image inspect')) return { stdout: o.platform?.(cmd.argv.at(-1) as string) ?? 'linux/arm64' };
    if (a.includes('http://127.0.0.1:8000/health')) return { stdout: o.health?.(sha) ?? healthy };
    if (a.includes('http://127.0.0.1:3000/')) return { stdout: '200' };
    if (a.startsWith('stat ') || a.startsWith('sha256sum ')) return { exitCode: 1 };
    return {};
  });
  return { exec, state, live: () => sha };
}
const ctx = (exec: ScriptedExecutor, config = app()) => ({ exec, config, log: () => undefined });
const ran = (exec: ScriptedExecutor, s: string) => exec.calls.filter((c) => c.argv.join(' ').includes(s)).length;

describe('deploy step', () => {
  it('deploys the SHA, records the one it replaced, and logs in with the token on stdin', async () => {
    const h = host({ state: { current: 'aaaaaaa' } });
    await deployStep().apply(ctx(h.exec, { ...app(), registryUser: 'deploy', registryPassword: new Secret('REGISTRY_PASSWORD', 'tok-abcdefgh') }));
    expect(JSON.parse(h.state.text)).toEqual({ current: '3f2c1ab', previous: 'aaaaaaa' });
    expect(ran(h.exec, 'docker login --username deploy --password-stdin ghcr.io')).toBe(1);
    expect(ran(h.exec, 'up -d --remove-orphans')).toBe(1);
  });

  it('refuses an amd64 image before anything restarts, and points compose.env back at the live SHA', async () => {
    const h = host({ state: { current: 'aaaaaaa' }, platform: (i) => (i.endsWith(':3f2c1ab') ? 'linux/amd64' : 'linux/arm64') });
    const err = await deployStep().apply(ctx(h.exec)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).kind).toBe('precondition');
    expect((err as Error).message).toMatch(/is linux\/amd64, not linux\/arm64.*nothing was restarted/);
    expect(ran(h.exec, ' up ')).toBe(0);
    expect(h.live()).toBe('aaaaaaa');
  });

  it('rolls back by itself to the recorded SHA when the new one fails health, and says so', async () => {
    const h = host({ state: { current: 'aaaaaaa', previous: 'bbbbbbb' }, health: (sha) => (sha === '3f2c1ab' ? '{"status":"unhealthy"}' : healthy) });
    const err = await deployStep().apply(ctx(h.exec)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/3f2c1ab did not become healthy .*; rolled back to aaaaaaa, which is healthy/);
    expect(h.live()).toBe('aaaaaaa');
    expect(ran(h.exec, 'up -d --remove-orphans')).toBe(2);
    expect(JSON.parse(h.state.text)).toEqual({ current: 'aaaaaaa', previous: 'bbbbbbb' });
  });

  it('a first deploy that fails has nothing to go back to and says so', async () => {
    const h = host({ health: () => '{"status":"starting"}' });
    await expect(deployStep().apply(ctx(h.exec))).rejects.toThrow(/there is no earlier SHA to go back to/);
  });

  it('check: converged when the SHA is recorded live and healthy', async () => {
    const h = host({ state: { current: '3f2c1ab', previous: 'aaaaaaa' } });
    expect(await deployStep().check(ctx(h.exec))).toEqual({ done: true, reason: '3f2c1ab is live: healthy, cache healthy; frontend 200' });
  });
});

describe('rollback step', () => {
  it('goes to the previous SHA and swaps the record', async () => {
    const h = host({ state: { current: '3f2c1ab', previous: 'aaaaaaa' } });
    expect(await rollbackStep().check(ctx(h.exec))).toMatchObject({ done: false });
    await rollbackStep().apply(ctx(h.exec));
    expect(h.live()).toBe('aaaaaaa');
    expect(JSON.parse(h.state.text)).toEqual({ current: 'aaaaaaa', previous: '3f2c1ab' });
  });
  it('refuses when no previous SHA is recorded', async () => {
    const h = host({ state: { current: '3f2c1ab' } });
    await expect(rollbackStep().check(ctx(h.exec))).rejects.toThrow(/no previous SHA is recorded/);
  });
});

describe('restore', () => {
  const cfg = () => statefulConfig.build(exampleValues(statefulConfig));
  const manifest = { format: 1, dump: 'familycart_20261201T031500Z.dump', sha256: 'a'.repeat(64), size: 2048, createdAt: '20261201T031500Z', host: 'db', tables: { 'public.items': { rows: 3, md5: 'm1' } } };
  const restoreHost = (o: { sha?: string; fingerprint?: string }) =>
    new ScriptedExecutor((cmd: Cmd) => {
      const a = cmd.argv.join(' ');
      if (a.includes('os object list')) return { stdout: JSON.stringify({ data: [{ name: 'familycart/prod/familycart_20261130T031500Z.json' }, { name: 'familycart/prod/familycart_20261201T031500Z.json' }, { name: 'familycart/prod/familycart_20261201T031500Z.dump' }] }) };
      if (a.startsWith('cat -- /var/backups/familycart/restore/manifest.json')) return { stdout: JSON.stringify(manifest) };
      if (a.startsWith('sha256sum')) return { stdout: `${o.sha ?? 'a'.repeat(64)}  f` };
      if (a.startsWith('stat -c %s')) return { stdout: '2048' };
      if (a.includes('psql')) return { stdout: o.fingerprint ?? '3 m1 public.items\n' };
      return {};
    });
  const run = async (exec: ScriptedExecutor) => {
    const steps = restoreSteps();
    for (const s of steps) {
      await s.apply({ exec, config: cfg(), log: () => undefined });
      await s.verify?.({ exec, config: cfg(), log: () => undefined });
    }
  };

  it('takes the newest manifest by its stamp', () => {
    expect(newestManifest(JSON.stringify({ data: [{ name: 'p/familycart_20261130T031500Z.json' }, { name: 'p/familycart_20261201T031500Z.json' }, { name: 'p/familycart_20261202T031500Z.dump' }] }))).toBe('familycart_20261201T031500Z.json');
    expect(newestManifest('')).toBeNull();
  });

  it('restores the newest dump and proves the tables equal', async () => {
    const exec = restoreHost({});
    await run(exec);
    expect(ran(exec, 'os object get --bucket-name familycart-backups --name familycart/prod/familycart_20261201T031500Z.json')).toBe(1);
    expect(ran(exec, 'pg_restore --clean --if-exists --no-owner --single-transaction')).toBe(1);
  });

  it('a dump that does not match its manifest stops before the database is touched', async () => {
    const exec = restoreHost({ sha: 'b'.repeat(64) });
    await expect(run(exec)).rejects.toThrow(/does not match its manifest .*the database was not touched/);
    expect(ran(exec, 'pg_restore --clean')).toBe(0);
    expect(ran(exec, ' cp ')).toBe(0);
  });

  it('a restored database that differs from the backup fails, naming the table', async () => {
    await expect(run(restoreHost({ fingerprint: '2 m9 public.items\n' }))).rejects.toThrow(/public\.items has 2 rows, the backup 3/);
    expect(fingerprintDiff({ a: { rows: 1, md5: 'x' } }, { a: { rows: 1, md5: 'y' }, b: { rows: 0, md5: 'z' } })).toEqual(['a rows differ (checksum)', 'b is new']);
    expect(parseFingerprint('3 abc public.a\n\n0 d41d s2."Odd Name"\n')).toEqual({ 'public.a': { rows: 3, md5: 'abc' }, 's2."Odd Name"': { rows: 0, md5: 'd41d' } });
  });
});

describe('each role\'s first-boot user-data', () => {
  it('is base-host\'s user-data plus the role\'s packages and Docker enabled, with nothing secret in it', async () => {
    const { parse } = await import('yaml');
    const { roleUserData } = await import('../../runbooks/familycart/user-data.ts');
    const { baseHostConfig } = await import('../../runbooks/base-host/index.ts');
    const { exampleValues } = await import('../../lib/config/schema.ts');
    const base = baseHostConfig.build({ ...exampleValues(baseHostConfig), ADMIN_USER: 'ops' });
    for (const role of ['stateful', 'app'] as const) {
      const text = roleUserData(role, base);
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      const doc = parse(text) as { users: { name: string }[]; packages: string[]; runcmd: unknown[][]; write_files: { path: string }[] };
      expect(doc.users[0]?.name).toBe('ops');
      expect(doc.write_files.map((f) => f.path)).toContain('/etc/nftables.d/10-base-host.nft');
      expect(doc.packages).toContain('docker.io');
      expect(doc.runcmd.at(-1)).toEqual(['systemctl', 'enable', '--now', 'docker.service']);
      expect(text).not.toMatch(/PASSWORD|SECRET_KEY/);
    }
    expect((parse(roleUserData('app', base)) as { packages: string[] }).packages).toContain('nginx-light');
    expect((parse(roleUserData('stateful', base)) as { packages: string[] }).packages).not.toContain('nginx-light');
  });
});

describe('the app host\'s nginx', () => {
  it('disables the distribution\'s default site before the FamilyCart site is validated (both claim default_server on 80)', async () => {
    const { appSteps } = await import('../../runbooks/familycart/hosts.ts');
    const ids = appSteps().map((s) => s.id);
    expect(ids.indexOf('app.nginx-default-off')).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf('app.nginx-default-off')).toBeLessThan(ids.indexOf('app.nginx'));
  });
});

describe('the nightly backup', () => {
  it('makes the folder the service may write (its ReadWritePaths) before installing the service', async () => {
    const { statefulSteps } = await import('../../runbooks/familycart/hosts.ts');
    const { BACKUP_DIR } = await import('../../runbooks/familycart/config.ts');
    const { readAsset } = await import('../../lib/core/assets.ts');
    expect(/^ReadWritePaths=(.+)$/m.exec(readAsset('systemd/familycart-backup.service'))?.[1]).toBe(BACKUP_DIR);
    const steps = statefulSteps();
    const ids = steps.map((s) => s.id);
    expect(ids.indexOf('stateful.backup-dir')).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf('stateful.backup-dir')).toBeLessThan(ids.indexOf('stateful.backup'));
    const step = steps[ids.indexOf('stateful.backup-dir')];
    const cfg = statefulConfig.build(exampleValues(statefulConfig));
    const missing = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'stat' ? { exitCode: 1, stderr: 'No such file or directory' } : {}));
    expect((await step?.check({ exec: missing, config: cfg, log: () => undefined }))?.done).toBe(false);
    await step?.apply({ exec: missing, config: cfg, log: () => undefined });
    expect(missing.calls.map((c) => c.argv.join(' '))).toContain(`install -d -m 0700 -o root -g root ${BACKUP_DIR}`);
    const there = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'stat' ? { stdout: '700 root:root\n' } : {}));
    expect((await step?.check({ exec: there, config: cfg, log: () => undefined }))?.done).toBe(true);
  });

  it('says why the unit failed: the script\'s own line, else systemd\'s cause', async () => {
    const { backupFailure } = await import('../../runbooks/familycart/index.ts');
    expect(backupFailure('Starting familycart-backup.service - x...\nfamilycart-backup: upload of a.dump to b failed: 404\nfamilycart-backup.service: Main process exited, code=exited, status=1/FAILURE\nFailed to start familycart-backup.service - x.\n')).toBe('familycart-backup: upload of a.dump to b failed: 404');
    expect(
      backupFailure('Starting familycart-backup.service - x...\nfamilycart-backup.service: Failed to set up mount namespacing: /var/backups/familycart: No such file or directory\nfamilycart-backup.service: Main process exited, code=exited, status=226/NAMESPACE\nFailed to start familycart-backup.service - x.\n'),
    ).toBe('familycart-backup.service: Failed to set up mount namespacing: /var/backups/familycart: No such file or directory; familycart-backup.service: Main process exited, code=exited, status=226/NAMESPACE');
    expect(backupFailure('')).toBe('the unit failed and its journal is empty');
  });
});
