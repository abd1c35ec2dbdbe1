// A TriviaPay pool instance's first boot on a real ARM64 VM, from the user-data the rollout puts
// into the instance configuration and nothing else: cloud-init -> triviapay-boot reads the image
// tag from the instance metadata, the app env and OCIR credentials from Vault (the OCI CLI
// stand-in, put on the image by vendor-data where a real image ships the real CLI, as instance
// principal), logs in to the registry (Debian's docker-registry in the VM, with htpasswd auth,
// standing for OCIR) with the token on stdin, pulls, logs out and starts triviapay.service, which
// serves /health. The registry only gets the image after the VM is up: first boot waits for it
// with its bounded retries, as it waits for instance-principal permissions on OCI.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../lib/core/secret.ts';
import { loadImages, pushImage, startRegistry, dockerLogin, sudo } from '../containers/vm-docker.ts';
import { IDS, seedCloud } from '../standins/oci/cloud-seed.ts';
import { updateState } from '../standins/oci/cloud-state.ts';
import { triviapayImages } from '../standins/triviapay/image.ts';
import { bootVm, type Vm } from '../../lib/vm/vm.ts';
import { ROOT, envFile, runbook } from './runbook-cli.ts';

// Needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (Debian, in scripts/host-packages.txt)
// for the stand-in image.
const vmTests = process.env.RUNBOOK_VM_TESTS !== '0';
const TOKEN = new Secret('OCIR token', 'ocir-Token(canary);7d');
const APP_ENV = 'DATABASE_URL=postgres://triviapay:db-canary-31@central-db:6432/triviapay\nJWT_SECRET=jwt-canary-0b5e\n';
/** The secret values themselves (the word "canary" alone is in AppArmor's own profiles). */
const SECRETS = ['db-canary-31', 'jwt-canary-0b5e', TOKEN.reveal()];
const REPO = 'triviapay/api';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Vendor-data standing for an OCI image that ships the OCI CLI, in a tenancy whose Vault holds the
 * app env and the OCIR credentials, and for the instance metadata service (a folder read through
 * curl's file://, where OCI answers http://169.254.169.254/opc/v2/instance/metadata/).
 */
function vendorData(): string {
  const stage = mkdtempSync(join(tmpdir(), 'triviapay-stage-'));
  const store = join(stage, 'root/.oci-standin');
  seedCloud(store, { size: 1, tag: 'A', port: 8000, intervalMs: 10_000, timeoutMs: 3000, retries: 3 });
  updateState(store, (s) => {
    const put = (id: string, text: string) => ((s.secrets[id] as { versions: { number: number; content: string; timeCreated: string }[] }).versions = [{ number: 1, content: Buffer.from(text).toString('base64'), timeCreated: new Date().toISOString() }]);
    put(IDS.appEnvSecret, APP_ENV);
    put(IDS.ocirUserSecret, 'deploy');
    put(IDS.ocirTokenSecret, TOKEN.reveal());
  });
  mkdirSync(join(stage, 'usr/local/lib/oci-standin'), { recursive: true });
  mkdirSync(join(stage, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(stage, 'var/lib/imds-standin'), { recursive: true });
  writeFileSync(join(stage, 'var/lib/imds-standin/triviapay_image_tag'), 'A');
  copyFileSync(join(ROOT, 'dist/standins/oci.mjs'), join(stage, 'usr/local/lib/oci-standin/oci.mjs'));
  const wrapper = '#!/bin/sh\n# OCI CLI test stand-in (not the product): one store per user, like one config per user\nexport OCI_STANDIN_ROOT="${OCI_STANDIN_ROOT:-${HOME:-/root}/.oci-standin}"\nexec node /usr/local/lib/oci-standin/oci.mjs "$@"\n';
  writeFileSync(join(stage, 'usr/local/bin/oci'), wrapper, { mode: 0o755 });
  const archive = execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', '-', '-C', stage, 'usr', 'root', 'var'], { maxBuffer: 64 << 20 });
  const b64 = archive.toString('base64').replace(/.{76}/g, '$&\n').trimEnd();
  const script = `if [ ! -e /usr/local/bin/oci ]; then\nbase64 -d > /run/oci-standin.tgz <<'EOF'\n${b64}\nEOF\ntar --no-overwrite-dir -xzf /run/oci-standin.tgz -C / && rm -f /run/oci-standin.tgz\nfi\n`;
  return `#cloud-config\n${stringifyYaml({ bootcmd: [script] }, { lineWidth: 0 })}`;
}

describe.skipIf(!vmTests)('TriviaPay instance first boot on an ARM64 VM', () => {
  let vm: Vm;
  let health: () => Promise<string>;
  const sh = (argv: string[], timeoutMs = 120_000) => sudo(vm, argv, { timeoutMs });

  beforeAll(async () => {
    const env = envFile({ OCIR_REPO_URL: `127.0.0.1:5000/${REPO}`, APP_ENV_SECRET_ID: IDS.appEnvSecret, OCIR_USERNAME_SECRET_ID: IDS.ocirUserSecret, OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret, BACKEND_PORT: '8000', INSTANCE_METADATA_URL: 'file:///var/lib/imds-standin', BOOT_DEADLINE_SECONDS: '1500' });
    const ud = await runbook(['user-data', 'triviapay.rollout', '--env', env]);
    expect(ud.exitCode, ud.stderr).toBe(0);
    const images = await triviapayImages(REPO, ['A']);
    vm = await bootVm({ name: 'triviapay', userData: ud.stdout, vendorData: vendorData(), forwards: [8000] });
    // The image reaches the registry only now; first boot keeps retrying its login and pull.
    await loadImages(vm, images);
    const password = TOKEN;
    const registry = await startRegistry(vm, { auth: { user: 'deploy', password } });
    await dockerLogin(vm, registry, password);
    await pushImage(vm, `${REPO}:A`, registry);
    await vm.waitForCloudInit(1_500_000);
    health = async () => {
      const r = await fetch(`http://127.0.0.1:${vm.hostPorts[8000]}/health`, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => ({ status: 0, text: async () => String(e) }));
      return `${r.status} ${await r.text()}`;
    };
  }, 2_400_000);

  afterAll(async () => {
    await vm?.stop();
  });

  it('first boot alone runs the container from the tag in the instance metadata, behind its health check, ready marker set', async () => {
    expect((await vm.ssh(['systemctl', 'is-active', 'triviapay.service'])).stdout.trim()).toBe('active');
    expect((await vm.ssh(['systemctl', 'is-enabled', 'triviapay.service'])).stdout.trim()).toBe('enabled');
    expect((await sh(['cat', '/run/triviapay/ready'])).trim()).toBe(`127.0.0.1:5000/${REPO}:A`);
    expect(await health()).toBe('200 {"status":"healthy"}');
    const ps = await sh(['docker', 'ps', '--format', '{{.Names}} {{.Image}} {{.Ports}}']);
    expect(ps).toMatch(new RegExp(`^triviapay 127\\.0\\.0\\.1:5000/${REPO}:A 0\\.0\\.0\\.0:8000->8000/tcp`, 'm'));
    expect((await sh(['docker', 'inspect', '--format', '{{.Config.User}} {{.HostConfig.RestartPolicy.Name}}', 'triviapay'])).trim()).toBe('10001:10001 no');
    const calls = (await sh(['cat', '/root/.oci-standin/calls.log'])).trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; auth: string });
    expect(calls.filter((c) => c.argv.includes('secret-bundle')).map((c) => c.auth)).toEqual(['instance_principal', 'instance_principal', 'instance_principal']);
  }, 300_000);

  it('the app env is mode 600 with PORT and APP_LOG_PATH added; no OCIR credential stays on disk; no secret in the boot log', async () => {
    expect((await sh(['stat', '-c', '%a %U', '/etc/triviapay.env'])).trim()).toBe('600 root');
    // (the SSH helper drops the output's last line break)
    expect(await sh(['cat', '/etc/triviapay.env'])).toBe(`${APP_ENV}APP_LOG_PATH=/var/log/triviapay/app.log\nPORT=8000`);
    const docker = await vm.ssh(['sudo', '-n', 'cat', '/root/.docker/config.json']);
    expect(docker.stdout).not.toMatch(/127\.0\.0\.1:5000/);
    const log = await sh(['cat', '/var/log/cloud-init-output.log']);
    expect(log).toContain(`ready: 127.0.0.1:5000/${REPO}:A serves /health on port 8000`);
    // The values go to grep on stdin: in its argv, sudo would log them to the journal.
    const found = await vm.ssh(['sudo', '-n', 'grep', '-rlF', '-D', 'skip', '-f', '-', '/etc', '/var/log', '/root', '/run', '/usr/local', '/var/lib/cloud', '/var/lib/docker/containers', '--exclude-dir=.oci-standin'], { input: `${SECRETS.join('\n')}\n`, timeoutMs: 120_000 });
    // Besides the env file, only the running container's own configuration holds them: Docker
    // keeps --env-file values there (docker inspect shows them to root), root-only.
    const id = (await sh(['docker', 'inspect', '--format', '{{.Id}}', 'triviapay'])).trim();
    const runtime = [`/run/containerd/io.containerd.runtime.v2.task/moby/${id}/config.json`, `/var/lib/docker/containers/${id}/config.v2.json`];
    expect(found.stdout.trim().split('\n').filter(Boolean).sort()).toEqual(['/etc/triviapay.env', ...runtime].sort());
    for (const f of ['/etc/triviapay.env', ...runtime]) expect((await vm.ssh(['cat', f])).exitCode, `${f} readable by ${vm.sshUser}`).not.toBe(0);
  }, 300_000);

  it('logs to APP_LOG_PATH as 10001; after a forced rotation the app writes to the new file', async () => {
    expect(await health()).toMatch(/^200/);
    expect((await sh(['stat', '-c', '%U %a', '/var/log/triviapay'])).trim()).toBe('triviapay 750');
    expect(await sh(['cat', '/var/log/triviapay/app.log'])).toMatch(/^A GET \/health/m);
    const rot = await vm.ssh(['sudo', '-n', 'logrotate', '-f', '/etc/logrotate.d/triviapay']);
    expect(rot.exitCode, rot.stderr).toBe(0);
    expect((await sh(['stat', '-c', '%U %G %a %s', '/var/log/triviapay/app.log'])).trim()).toBe('triviapay triviapay 640 0');
    expect(await health()).toMatch(/^200/);
    expect(await sh(['cat', '/var/log/triviapay/app.log'])).toMatch(/^A GET \/health HTTP\/1\.1$/);
    expect(await sh(['cat', '/var/log/triviapay/app.log.1'])).toMatch(/^A GET \/health/m);
  }, 300_000);

  it('systemd restarts the container when it dies, and the ready marker follows', async () => {
    await sh(['docker', 'kill', 'triviapay']);
    let state = '';
    // One SSH call a round (each costs seconds under emulation), bounded.
    const probe = 'echo "$(systemctl is-active triviapay.service) $(test -s /run/triviapay/ready && echo ready || echo not-ready)"';
    for (let i = 0; i < 120 && state !== 'active ready'; i++) {
      await sleep(2_000);
      state = (await vm.ssh(['sudo', '-n', 'sh', '-c', probe])).stdout.trim();
    }
    expect(state).toBe('active ready');
    expect(await health()).toBe('200 {"status":"healthy"}');
    expect(Number((await vm.ssh(['systemctl', 'show', '-P', 'NRestarts', 'triviapay.service'])).stdout.trim())).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
