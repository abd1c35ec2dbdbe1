// The TriviaPay pool instance's first boot: the user-data the rollout puts into each instance
// configuration (rendered with nothing blanked, no secret inline, within OCI's metadata limit,
// accepted by cloud-init), the unit, the logrotate policy, and the boot script itself run here
// against the OCI CLI stand-in with docker and systemctl recorded.
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readAsset } from '../../lib/core/assets.ts';
import { loadConfig } from '../../lib/config/schema.ts';
import { triviapayConfig } from '../../runbooks/triviapay/config.ts';
import { OCI_METADATA_LIMIT, renderInstanceUserData, userDataMetadata } from '../../runbooks/triviapay/instance.ts';
import { IDS, seedCloud } from '../standins/oci/cloud-seed.ts';
import { updateState } from '../standins/oci/cloud-state.ts';
import * as v from '../assets/validators.ts';
import { standinBin } from './triviapay-world.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'triviapay-instance-'));

/**
 * argv in a private mount namespace where /etc/passwd and /etc/group also hold the container user
 * (triviapay, 10001), as triviapay-boot leaves an instance, and /var/log is a scratch tmpfs.
 * Nothing of the host changes.
 */
function onInstance(argv: string[]): string[] {
  const dir = tmp();
  writeFileSync(join(dir, 'passwd'), `${readFileSync('/etc/passwd', 'utf8')}triviapay:x:10001:10001::/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(join(dir, 'group'), `${readFileSync('/etc/group', 'utf8')}triviapay:x:10001:\n`);
  writeFileSync(join(dir, 'apparmor-off'), 'N\n');
  // An AppArmor kernel without apparmor_parser would make the boot script install packages.
  const aa = '/sys/module/apparmor/parameters/enabled';
  const setup = `mount --bind ${dir}/passwd /etc/passwd && mount --bind ${dir}/group /etc/group && mount -t tmpfs tmpfs /var/log && { [ ! -e ${aa} ] || mount --bind ${dir}/apparmor-off ${aa}; } && exec "$@"`;
  return ['unshare', '-m', '--propagation', 'private', 'bash', '-c', setup, 'instance', ...argv];
}
const asRoot = process.getuid?.() === 0;
const BASE = {
  OCIR_REPO_URL: 'iad.ocir.io/axaxnpcrorw5/triviapay-api',
  APP_ENV_SECRET_ID: IDS.appEnvSecret,
  OCIR_USERNAME_SECRET_ID: IDS.ocirUserSecret,
  OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret,
  BACKEND_PORT: '8000',
};
function config(values: Record<string, string>) {
  const f = join(tmp(), 'run.env');
  writeFileSync(f, Object.entries(values).map(([k, x]) => `${k}="${x}"\n`).join(''), { mode: 0o600 });
  return loadConfig(triviapayConfig, [f]);
}
interface WriteFile {
  path: string;
  permissions: string;
  encoding: string;
  content: string;
}
const decode = (f: WriteFile) => (f.encoding === 'gz+b64' ? gunzipSync(Buffer.from(f.content, 'base64')) : Buffer.from(f.content, 'base64')).toString('utf8');
const files = (userData: string) => Object.fromEntries((parse(userData) as { write_files: WriteFile[] }).write_files.map((f) => [f.path, { ...f, text: decode(f) }]));

describe('the instance user-data', () => {
  const userData = renderInstanceUserData(config(BASE));
  const written = files(userData);

  it('is cloud-config that cloud-init schema accepts', async () => {
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const r = await v.cloudInit(userData);
    expect(r.ok, r.output).toBe(true);
  });

  it('embeds the shipped scripts, unit and logrotate byte for byte: shell ${...} survives (no envsubst)', () => {
    expect(written['/usr/local/sbin/triviapay-boot']?.text).toBe(readAsset('runbooks/triviapay/files/boot.sh'));
    expect(written['/usr/local/sbin/triviapay-boot']?.text).toContain('${OCIR_REPO_URL%%/*}');
    expect(written['/usr/local/sbin/triviapay-health']?.text).toBe(readAsset('runbooks/triviapay/files/health.sh'));
    expect(written['/etc/systemd/system/triviapay.service']?.text).toBe(readAsset('systemd/triviapay.service'));
    expect(written['/etc/systemd/system/triviapay.service']?.text).toContain('${TRIVIAPAY_IMAGE}');
    expect(written['/etc/triviapay/logrotate.in']?.text).toBe(readAsset('runbooks/triviapay/files/logrotate.conf'));
    expect(written['/usr/local/sbin/triviapay-boot']?.permissions).toBe('0755');
    expect((parse(userData) as { runcmd: string[][] }).runcmd).toEqual([['/usr/local/sbin/triviapay-boot']]);
  });

  it('fills every value of boot.env, none blank, none left as a placeholder', () => {
    const env = written['/etc/triviapay/boot.env']?.text ?? '';
    const lines = env.split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    expect(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))).toEqual({
      OCIR_REPO_URL: "'iad.ocir.io/axaxnpcrorw5/triviapay-api'",
      APP_ENV_SECRET_ID: `'${IDS.appEnvSecret}'`,
      OCIR_USERNAME_SECRET_ID: `'${IDS.ocirUserSecret}'`,
      OCIR_AUTH_TOKEN_SECRET_ID: `'${IDS.ocirTokenSecret}'`,
      BACKEND_PORT: "'8000'",
      INSTANCE_METADATA_URL: "'http://169.254.169.254/opc/v2/instance/metadata'",
      BOOT_DEADLINE_SECONDS: "'1200'",
    });
    for (const text of [userData, ...Object.values(written).map((f) => f.text)]) expect(text).not.toMatch(/\{\{[A-Z0-9_:/.]+\}\}/);
  });

  it('names the Vault secrets but holds none of their values, even when the env file has them', () => {
    const dir = tmp();
    const envProd = join(dir, '.env.production');
    writeFileSync(envProd, 'DATABASE_URL=postgres://app:canary-db-5b1e@db/app\n', { mode: 0o600 });
    const ud = renderInstanceUserData(config({ ...BASE, APP_ENV_FILE: envProd, OCIR_USERNAME: 'ns/canary-user', OCIR_AUTH_TOKEN: 'canary-token-9f3a' }));
    const all = [ud, ...Object.values(files(ud)).map((f) => f.text)].join('\n');
    expect(all).not.toMatch(/canary/);
    expect(all).toContain(IDS.ocirTokenSecret);
    expect(written['/usr/local/sbin/triviapay-boot']?.text).toMatch(/docker login --username "\$\(cat "\$tmp\/ocir\.user"\)" --password-stdin/);
  });

  it('refuses to render with a value missing, naming it (the upstream template rendered blanks)', () => {
    const { OCIR_REPO_URL: _r, ...noRepo } = BASE;
    expect(() => renderInstanceUserData(config(noRepo))).toThrow(/needs OCIR_REPO_URL/);
    const { APP_ENV_SECRET_ID: _a, OCIR_AUTH_TOKEN_SECRET_ID: _t, ...noSecrets } = BASE;
    expect(() => renderInstanceUserData(config(noSecrets))).toThrow(/needs APP_ENV_SECRET_ID, OCIR_AUTH_TOKEN_SECRET_ID/);
    expect(() => config({ ...BASE, OCIR_REPO_URL: 'iad.ocir.io/ns/repo;rm -rf /' })).toThrow(/OCIR_REPO_URL must be REGISTRY\/NAMESPACE\/REPO/);
    expect(() => config({ ...BASE, INSTANCE_METADATA_URL: "http://x/'y" })).toThrow(/INSTANCE_METADATA_URL must be/);
  });

  it('fits OCI\'s 32,000-byte metadata limit as base64, with room for SSH keys', () => {
    const size = userDataMetadata(config(BASE)).length;
    expect(size).toBeLessThan(OCI_METADATA_LIMIT - 8_000);
  });
});

describe('triviapay.service', () => {
  const unit = readAsset('systemd/triviapay.service');
  it('passes systemd-analyze verify without a warning', async () => {
    const r = await v.systemdUnit('triviapay.service', unit, { units: { 'docker.service': '[Unit]\nDescription=Docker Application Container Engine\n[Service]\nExecStart=/usr/bin/dockerd\n' } });
    expect(r.ok, r.output).toBe(true);
  });
  it('runs the container in the foreground with systemd owning restarts, the env file, the port on both sides and the log folder', () => {
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/docker run --rm --name triviapay --pull never --env-file \/etc\/triviapay\.env --publish \$\{TRIVIAPAY_PORT\}:\$\{TRIVIAPAY_PORT\} --volume \$\{TRIVIAPAY_LOG_DIR\}:\$\{TRIVIAPAY_LOG_DIR\} /m);
    expect(unit.match(/^ExecStart=.*$/m)?.[0]).not.toMatch(/--restart/);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ExecStartPost=\/usr\/local\/sbin\/triviapay-health \d+$/m);
  });
  // The unit drives the Docker engine's socket, root in all but name: its own processes are locked
  // down (no capabilities, read-only system, loopback only); the container is the engine's affair.
  it('systemd-analyze security rates it within 2.0', async () => {
    const r = await v.systemdExposure('triviapay.service', unit);
    expect(r.score, r.output).toBeLessThanOrEqual(2.0);
  });
});

describe('triviapay-health', () => {
  const script = fileURLToPath(new URL('../../runbooks/triviapay/files/health.sh', import.meta.url));
  async function serving(status: number, body: string): Promise<{ port: number; close: () => void }> {
    const server = createServer((_q, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as AddressInfo).port, close: () => server.close() };
  }
  const health = (port: number, args: string[], env: Record<string, string> = {}) => execa('bash', [script, ...args], { reject: false, env: { TRIVIAPAY_PORT: String(port), PATH: process.env.PATH ?? '', ...env }, extendEnv: false });

  it('passes on 200 {"status":"healthy"}, fails on anything else naming the last answer', async () => {
    const ok = await serving(200, '{"status": "healthy"}');
    const bad = await serving(200, '{"status":"ok"}');
    const down = await serving(503, '{"status":"healthy"}');
    try {
      expect((await health(ok.port, [])).exitCode).toBe(0);
      const r = await health(bad.port, ['1']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/did not answer \{"status":"healthy"\}; last answer: \{"status":"ok"\}/);
      expect((await health(down.port, [])).stderr).toMatch(/503/);
    } finally {
      for (const s of [ok, bad, down]) s.close();
    }
  });

  it('stops waiting at once when the unit\'s main process ($MAINPID) is gone', async () => {
    const bad = await serving(503, '');
    try {
      const t0 = Date.now();
      const r = await health(bad.port, ['60'], { MAINPID: '2147483646' });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/the container exited before/);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      bad.close();
    }
  });
});

describe('logrotate policy', () => {
  const policy = (path: string) => readAsset('runbooks/triviapay/files/logrotate.conf').replace('@APP_LOG_PATH@', path).replace('@APP_USER@', 'triviapay').replace('@APP_GROUP@', 'triviapay');

  it.skipIf(!asRoot)('logrotate -d accepts it: daily, 14 kept, compressed a day late, recreated 0640 for the container user', async () => {
    const dir = tmp();
    const conf = join(dir, 'triviapay');
    writeFileSync(conf, policy(join(dir, 'app.log')));
    const [cmd, ...args] = onInstance(['logrotate', '-d', '-s', join(dir, 'state'), conf]);
    const r = await execa(cmd as string, args, { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.stderr).toContain(`rotating pattern: ${join(dir, 'app.log')}`);
    expect(readFileSync(conf, 'utf8')).toMatch(/daily\n\s+rotate 14\n\s+compress\n\s+delaycompress\n[\s\S]*create 0640 triviapay triviapay/);
  });

  // The seed's `create 0640 10001 10001`: logrotate takes names only, so the boot script fills in names.
  it('logrotate refuses a numeric owner (why the boot script fills in the user\'s name)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'numeric'), policy(join(dir, 'app.log')).replace('create 0640 triviapay triviapay', 'create 0640 10001 10001'));
    const r = await execa('logrotate', ['-d', '-s', join(dir, 'state'), join(dir, 'numeric')], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/unknown user '10001'/);
  });

  it('logrotate -d refuses a broken policy (the check can fail)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad'), policy(join(dir, 'app.log')).replace('rotate 14', 'rotate fourteen'));
    const r = await execa('logrotate', ['-d', '-s', join(dir, 'state'), join(dir, 'bad')], { reject: false });
    expect(r.exitCode).not.toBe(0);
  });

  // A forced rotation, as the seed's verification does; the app's WatchedFileHandler (Python's
  // own) writes its next line to the new file, which logrotate created for the container user.
  it.skipIf(!asRoot)('after a forced rotation the app writes to the new file, owned 10001:10001 mode 0640', async () => {
    const dir = tmp();
    const log = join(dir, 'app.log');
    const conf = join(dir, 'triviapay');
    writeFileSync(conf, policy(log));
    const py = `import logging, logging.handlers, subprocess, sys
h = logging.handlers.WatchedFileHandler(sys.argv[1]); l = logging.getLogger('app'); l.addHandler(h); l.setLevel(logging.INFO)
l.info('before rotation')
r = subprocess.run(['logrotate', '-f', '-s', sys.argv[2], sys.argv[3]], capture_output=True, text=True)
if r.returncode: sys.exit('logrotate: ' + r.stderr)
l.info('after rotation')`;
    const [cmd, ...args] = onInstance(['python3', '-c', py, log, join(dir, 'state'), conf]);
    const r = await execa(cmd as string, args, { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(`${log}.1`, 'utf8')).toBe('before rotation\n');
    expect(readFileSync(log, 'utf8')).toBe('after rotation\n');
    const st = statSync(log);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([10001, 10001, 0o640]);
  });
});

describe.skipIf(!asRoot)('the boot script, run here against the OCI CLI stand-in', { timeout: 120_000 }, () => {
  const TOKEN = 'tok(canary);<3]#x.Y';
  /** A stand-in cloud holding the secrets, fake docker and systemctl that record what they get, and the boot script's paths in a scratch folder. */
  async function world(appEnv: string) {
    const bin = await standinBin();
    const root = tmp();
    seedCloud(root, { size: 1, tag: 'A', port: 8000, intervalMs: 10_000, timeoutMs: 3000, retries: 3 });
    updateState(root, (s) => {
      const put = (id: string, text: string) => ((s.secrets[id] as { versions: { number: number; content: string; timeCreated: string }[] }).versions = [{ number: 1, content: Buffer.from(text).toString('base64'), timeCreated: new Date().toISOString() }]);
      put(IDS.appEnvSecret, appEnv);
      put(IDS.ocirUserSecret, 'axaxnpcrorw5/ci@example.com');
      put(IDS.ocirTokenSecret, TOKEN);
    });
    const fakes = join(root, 'fakes');
    const rec = join(root, 'recorded');
    mkdirSync(fakes);
    mkdirSync(rec);
    writeFileSync(join(fakes, 'docker'), `#!/bin/bash\nprintf '%s\\n' "$*" >>${rec}/docker.argv\n[ "$1" = login ] && cat >${rec}/login.stdin\nexit 0\n`, { mode: 0o755 });
    writeFileSync(join(fakes, 'systemctl'), `#!/bin/bash\nprintf '%s\\n' "$*" >>${rec}/systemctl.argv\nif [ "$1" = restart ]; then mkdir -p "$TRIVIAPAY_RUN" && echo image >"$TRIVIAPAY_RUN/ready"; fi\nexit 0\n`, { mode: 0o755 });
    chmodSync(join(fakes, 'docker'), 0o755);
    const etc = join(root, 'etc');
    mkdirSync(etc);
    const meta = join(root, 'imds');
    mkdirSync(meta);
    writeFileSync(join(meta, 'triviapay_image_tag'), '2026.07.21-abc1234');
    const userData = renderInstanceUserData(config({ ...BASE, INSTANCE_METADATA_URL: `file://${meta}`, BOOT_DEADLINE_SECONDS: '60' }));
    const w = files(userData);
    writeFileSync(join(etc, 'boot.env'), w['/etc/triviapay/boot.env']?.text ?? '');
    writeFileSync(join(etc, 'logrotate.in'), w['/etc/triviapay/logrotate.in']?.text ?? '');
    const boot = join(root, 'triviapay-boot');
    writeFileSync(boot, w['/usr/local/sbin/triviapay-boot']?.text ?? '', { mode: 0o755 });
    // The default APP_LOG_PATH lands in the namespace's scratch /var/log.
    const [cmd, ...args] = onInstance([boot]);
    const run = () =>
      execa(cmd as string, args, {
        reject: false,
        timeout: 110_000,
        env: { PATH: `${fakes}:${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, OCI_STANDIN_ROOT: root, TRIVIAPAY_BOOT_CONF: join(etc, 'boot.env'), TRIVIAPAY_ENV_FILE: join(root, 'triviapay.env'), TRIVIAPAY_ETC: etc, TRIVIAPAY_LOGROTATE: join(root, 'logrotate.d-triviapay'), TRIVIAPAY_RUN: join(root, 'run'), HOME: root },
        extendEnv: false,
      });
    return { root, rec, etc, run, read: (p: string) => readFileSync(join(root, p), 'utf8') };
  }

  it('writes the env file (600) with APP_LOG_PATH and PORT added, logs in with the token on stdin only, pulls the tag from metadata, logs out, starts the unit', async () => {
    const w = await world('DATABASE_URL=postgres://app:pw@db/app\nSECRET_KEY=s3cr3t');
    const r = await w.run();
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toContain('ready: iad.ocir.io/axaxnpcrorw5/triviapay-api:2026.07.21-abc1234 serves /health on port 8000');
    expect(w.read('triviapay.env')).toBe('DATABASE_URL=postgres://app:pw@db/app\nSECRET_KEY=s3cr3t\nAPP_LOG_PATH=/var/log/triviapay/app.log\nPORT=8000\n');
    expect(statSync(join(w.root, 'triviapay.env')).mode & 0o777).toBe(0o600);
    const docker = w.read('recorded/docker.argv');
    expect(docker).toMatch(/^login --username axaxnpcrorw5\/ci@example\.com --password-stdin iad\.ocir\.io$/m);
    expect(docker).toMatch(/^pull -q iad\.ocir\.io\/axaxnpcrorw5\/triviapay-api:2026\.07\.21-abc1234$/m);
    expect(docker.indexOf('logout iad.ocir.io')).toBeGreaterThan(docker.indexOf('pull -q'));
    expect(w.read('recorded/login.stdin')).toBe(TOKEN);
    // The token reached docker's stdin and nothing else: not argv, not output, not a file left behind.
    expect(`${docker}${r.stdout}${r.stderr}${w.read('recorded/systemctl.argv')}${w.read('triviapay.env')}`).not.toContain('canary');
    expect(w.read('etc/container.env')).toBe('TRIVIAPAY_IMAGE=iad.ocir.io/axaxnpcrorw5/triviapay-api:2026.07.21-abc1234\nTRIVIAPAY_PORT=8000\nTRIVIAPAY_LOG_DIR=/var/log/triviapay\n');
    expect(w.read('logrotate.d-triviapay')).toMatch(/^\/var\/log\/triviapay\/app\.log \{$/m);
    expect(w.read('recorded/systemctl.argv')).toMatch(/daemon-reload\nenable triviapay\.service\nrestart triviapay\.service\n$/);
    // Run again: the same result, nothing appended twice.
    const again = await w.run();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(w.read('triviapay.env').match(/^PORT=/gm)).toHaveLength(1);
  });

  it('keeps the app env\'s own APP_LOG_PATH and a matching PORT, CRLF line ends dropped', async () => {
    const w = await world('PORT=8000\r\nAPP_LOG_PATH=/var/log/triviapay-api/api.log\r\n');
    const r = await w.run();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.read('triviapay.env')).toBe('PORT=8000\nAPP_LOG_PATH=/var/log/triviapay-api/api.log\n');
    expect(w.read('etc/container.env')).toContain('TRIVIAPAY_LOG_DIR=/var/log/triviapay-api\n');
    expect(w.read('logrotate.d-triviapay')).toMatch(/^\/var\/log\/triviapay-api\/api\.log \{$/m);
  });

  it('refuses a PORT the load balancer does not check, and Terraform\'s placeholder, naming the next command', async () => {
    const wrongPort = await world('PORT=9000\n');
    const r = await wrongPort.run();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the app env sets PORT=9000 but the load balancer checks port 8000/);
    expect(r.stderr).toMatch(/next: remove PORT from \.env\.production/);
    expect(existsSync(join(wrongPort.root, 'triviapay.env'))).toBe(false);
    const placeholder = await world('CHANGEME');
    const p = await placeholder.run();
    expect(p.exitCode).toBe(1);
    expect(p.stderr).toMatch(/still holds Terraform's placeholder CHANGEME/);
    expect(existsSync(join(placeholder.root, 'recorded/docker.argv')) ? placeholder.read('recorded/docker.argv') : '').not.toMatch(/login/);
  });
});
