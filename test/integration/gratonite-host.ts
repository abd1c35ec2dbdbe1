// The Gratonite VM host shared by its VM test and its benchmark: a VM restored from the shared
// docker-host snapshot (with a blank volume), the application stand-in images loaded, a registry
// holding the tags the deploys pull (v1 good, v2 whose /health says degraded, v3 good), Caddy's
// local CA made by the test (so the checks trust it before Caddy starts), and the site env file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Link } from '../vm/link.ts';
import type { Vm } from '../../lib/vm/vm.ts';
import { dockerHostSnapshot, loadAppImages, putFile, restoreDockerHost } from '../containers/docker-host.ts';
import { startRegistry, sudo } from '../containers/vm-docker.ts';
import { envFile, runbook } from './runbook-cli.ts';

export const DOMAIN = 'chat.test';
export const REGISTRY = '127.0.0.1:5000';
/** The Gratonite host's address on the private link (link.host(21)). */
export const HOST_ADDR = '10.77.0.21';
// Caddy (Debian's package) keeps its data under its home, /var/lib/caddy.
const CADDY_CA = '/var/lib/caddy/.local/share/caddy/pki/authorities/local';
const TAGS: [string, string][] = [
  ['gratonite-standin/api:good', 'gratonite/api:v1'],
  ['gratonite-standin/web:good', 'gratonite/web:v1'],
  ['gratonite-standin/api:broken', 'gratonite/api:v2'],
  ['gratonite-standin/web:good', 'gratonite/web:v2'],
  ['gratonite-standin/api:good', 'gratonite/api:v3'],
  ['gratonite-standin/web:good', 'gratonite/web:v3'],
];

/** The test's local CA: what `local_certs` would make, made here so the checks can trust it first. */
function localCa(): { crt: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gratonite-ca-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=Gratonite test local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', join(dir, 'root.key'), '-out', join(dir, 'root.crt')], { stdio: 'ignore' });
  return { crt: join(dir, 'root.crt'), key: join(dir, 'root.key') };
}

export interface GratoniteHost {
  vm: Vm;
  /** base-host's env file (each runbook refuses variables it does not know). */
  baseEnv: string;
  /** The site's env file (no secret), with overrides. */
  site(extra?: Record<string, string>): string;
  /** `runbook run NAME --yes` against the host, as an unattended run (gratonite.smoke and gratonite.secrets run here, `--target local`). */
  run(name: string, envFiles: string[], extra?: string[], timeoutMs?: number): ReturnType<typeof runbook>;
}

/** Restores the host, loads the stand-ins, fills the registry and plants the CA (bounded waits throughout). */
export async function gratoniteHost(name: string, link?: Link): Promise<GratoniteHost> {
  const { snapshot } = await dockerHostSnapshot();
  const vm = await restoreDockerHost(snapshot, { name, ...(link ? { link: link.host(21) } : {}), forwards: [443, { guestPort: 3478, udp: true }] });
  await loadAppImages(vm, ['gratonite-api', 'gratonite-api-broken', 'gratonite-web', 'minio']);
  await startRegistry(vm, { listen: REGISTRY });
  // Pushed, then the registry's names removed from the engine: each deploy really pulls its tag.
  for (const [from, to] of TAGS) {
    await sudo(vm, ['docker', 'tag', from, `${REGISTRY}/${to}`]);
    await sudo(vm, ['docker', 'push', `${REGISTRY}/${to}`], { timeoutMs: 600_000 });
    await sudo(vm, ['docker', 'rmi', `${REGISTRY}/${to}`]);
  }
  const ca = localCa();
  putFile(vm, `${CADDY_CA}/root.crt`, '0644', readFileSync(ca.crt));
  putFile(vm, `${CADDY_CA}/root.key`, '0600', readFileSync(ca.key));
  await sudo(vm, ['chown', '-R', 'caddy:caddy', '/var/lib/caddy/.local']);
  const operatorKey = (await sudo(vm, ['sh', '-c', `head -n 1 ~${vm.sshUser}/.ssh/authorized_keys`])).trim();
  const baseEnv = envFile({ ADMIN_USER: vm.sshUser, ADMIN_SSH_KEYS: operatorKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '0' });
  const base = {
    DOMAIN,
    ADMIN_CIDRS: '10.0.2.2/32',
    TLS_ISSUER: 'local',
    CORS_ORIGIN: `https://app.${DOMAIN}`,
    API_IMAGE: `${REGISTRY}/gratonite/api`,
    WEB_IMAGE: `${REGISTRY}/gratonite/web`,
    GRATONITE_TAG: 'v1',
    MIGRATIONS_BACKWARD_COMPATIBLE: 'yes',
    // PostgreSQL's first start under software emulation on a shared 2-core machine takes minutes.
    HEALTH_DEADLINE_SECONDS: '900',
    CHECK_CONNECT_TO: `127.0.0.1:${vm.hostPorts[443]}`,
    CHECK_CA_FILE: ca.crt,
    CHECK_TURN_ADDRESS: `127.0.0.1:${vm.hostPorts[3478]}`,
    CHECK_TIMEOUT_SECONDS: '60',
  };
  return {
    vm,
    baseEnv,
    site: (extra = {}) => envFile({ ...base, ...extra }),
    run: (rb, envFiles, extra = [], timeoutMs = 30 * 60_000) =>
      runbook(['run', rb, '--target', rb === 'gratonite.smoke' || rb === 'gratonite.secrets' ? 'local' : vm.target(), '--ssh-config', vm.sshConfigPath, ...envFiles.flatMap((e) => ['--env', e]), '--json', '--yes', ...extra], { timeoutMs }),
  };
}
