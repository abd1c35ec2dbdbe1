// FamilyCart's two VM hosts for its VM test: the stateful host and the app host restored from the
// 1 GiB docker-host snapshot on one private link (10.77.0.10 and 10.77.0.20), the OCI CLI stand-in
// on the stateful host (its store stands for the bucket), the stand-in images in a registry with
// auth on the app host (SHA tags: A good, B whose /health says unhealthy, C with an amd64
// frontend), and a Cloudflare stand-in: the recorded answer plus the sources this test uses as
// "Cloudflare", served on the app host where CF_IPS_URL points.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '../../lib/core/secret.ts';
import type { Vm } from '../../lib/vm/vm.ts';
import { dockerHostSnapshot, installOciStandin, loadAppImages, restoreDockerHost } from '../containers/docker-host.ts';
import { dockerLogin, startRegistry, sudo } from '../containers/vm-docker.ts';
import type { Link } from '../vm/link.ts';
import type { Snapshot } from '../vm/snapshot.ts';
import { ROOT, envFile } from './runbook-cli.ts';

export const STORE = '/var/lib/familycart-backup/.oci-standin';
export const BUCKET = 'familycart-backups';
export const REGISTRY = '127.0.0.1:5000';
export const SHA = { good: '1a2b3c4', broken: '5d6e7f8', amd64: '9a0b1c2' };
/** The host numbers on the link: 10.77.0.<n>. */
export const HOSTS = { stateful: 10, app: 20 };
/**
 * A second address of the stateful VM that the stand-in Cloudflare answer lists: an "edge" source.
 * On the link's /24 but outside PRIVATE_SUBNET (10.77.0.0/27), so each host still has exactly one
 * address in the private subnet (the system command refuses a host with two).
 */
export const EDGE = '10.77.0.40';
export const PRIVATE_SUBNET = '10.77.0.0/27';
export const CF_URL = 'http://127.0.0.1:8089/ips.json';
export const TOKEN = new Secret('REGISTRY_PASSWORD', 'registry-Token-canary-51f');
export const REDIS_CANARY = 'redis-canary-Xq7vT2mPz9LwK4nB';
export const PG_CANARY = 'postgres-canary-Hd3sR8yNc5VjQ1aF';
const CF_DIR = '/srv/cf-standin';

/** The recorded Cloudflare answer (what the runbooks ship), with `extraV4` added: a good answer. */
export function cfAnswer(extraV4: string[] = ['10.0.2.2/32', `${EDGE}/32`]): Record<string, unknown> {
  const a = JSON.parse(readFileSync(join(ROOT, 'runbooks/familycart/files/cloudflare-ips.json'), 'utf8')) as { result: { ipv4_cidrs: string[] } };
  a.result.ipv4_cidrs = [...a.result.ipv4_cidrs, ...extraV4];
  return a;
}

/** Puts `body` where CF_URL reads (no file: the stand-in answers 404). */
export async function serveCf(app: Vm, body: string | null): Promise<void> {
  if (body === null) await sudo(app, ['rm', '-f', `${CF_DIR}/ips.json`]);
  else await sudo(app, ['install', '-D', '-m', '0644', '/dev/stdin', `${CF_DIR}/ips.json`], { input: body });
}

export const familycartSnapshot = async (): Promise<Snapshot> => (await dockerHostSnapshot({ memoryMiB: 1024 })).snapshot;

/** A stateful host: restored on the link at 10.77.0.10, the OCI CLI stand-in installed. */
export async function statefulHost(snap: Snapshot, link: Link, name: string): Promise<Vm> {
  const vm = await restoreDockerHost(snap, { name, link: link.host(HOSTS.stateful) });
  await installOciStandin(vm, STORE);
  return vm;
}

/** The app host: on the link at 10.77.0.20, 80 and 443 forwarded, the images in its registry, the Cloudflare stand-in serving. */
export async function appHost(snap: Snapshot, link: Link): Promise<Vm> {
  const vm = await restoreDockerHost(snap, { name: 'fc-app', link: link.host(HOSTS.app), forwards: [80, 443] });
  await loadAppImages(vm, ['familycart-backend', 'familycart-backend-broken', 'familycart-frontend', 'familycart-frontend-amd64']);
  const registry = await startRegistry(vm, { listen: REGISTRY, auth: { user: 'deploy', password: TOKEN } });
  await dockerLogin(vm, registry, TOKEN);
  const tags: [string, string][] = [
    ['familycart-standin/backend:good', `familycart/backend:${SHA.good}`],
    ['familycart-standin/frontend:good', `familycart/frontend:${SHA.good}`],
    ['familycart-standin/backend:broken', `familycart/backend:${SHA.broken}`],
    ['familycart-standin/frontend:good', `familycart/frontend:${SHA.broken}`],
    ['familycart-standin/backend:good', `familycart/backend:${SHA.amd64}`],
    ['familycart-standin/frontend:amd64', `familycart/frontend:${SHA.amd64}`],
  ];
  // Pushed, then the registry's names removed and the login dropped: the deploy logs in and pulls.
  for (const [from, to] of tags) {
    await sudo(vm, ['docker', 'tag', from, `${REGISTRY}/${to}`]);
    await sudo(vm, ['docker', 'push', `${REGISTRY}/${to}`], { timeoutMs: 600_000 });
    await sudo(vm, ['docker', 'rmi', `${REGISTRY}/${to}`]);
  }
  await sudo(vm, ['docker', 'logout', REGISTRY]);
  await serveCf(vm, JSON.stringify(cfAnswer()));
  await sudo(vm, ['systemd-run', '--unit', 'cf-standin', '--property', 'Restart=always', 'python3', '-m', 'http.server', '8089', '--bind', '127.0.0.1', '--directory', CF_DIR]);
  return vm;
}

/** One ssh_config for both hosts (the system command takes one): the same key, both known_hosts files. */
export function combinedSshConfig(dir: string, vms: Vm[]): string {
  const p = join(dir, 'ssh_config');
  const first = vms[0] as Vm;
  writeFileSync(
    p,
    ['Host 127.0.0.1', `  IdentityFile ${first.keyPath}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${vms.map((v) => v.knownHostsPath).join(' ')}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '  ConnectTimeout 15', '  LogLevel ERROR', ''].join('\n'),
  );
  return p;
}

/** base-host's values on these hosts (SSH from the user network's gateway, where the test is). */
export async function baseValues(vm: Vm): Promise<Record<string, string>> {
  const operatorKey = (await sudo(vm, ['sh', '-c', `head -n 1 ~${vm.sshUser}/.ssh/authorized_keys`])).trim();
  // A 1 GiB host gets swap (the seed's E2.1.Micro); kept small so the test's disk stays small.
  return { ADMIN_USER: vm.sshUser, ADMIN_SSH_KEYS: operatorKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '512' };
}

/** The one env file of the system: base-host's values, both hosts' and the deploy's. */
export async function systemEnv(vm: Vm, extra: Record<string, string> = {}): Promise<string> {
  return envFile({
    ...(await baseValues(vm)),
    PRIVATE_SUBNET,
    POSTGRES_PASSWORD: PG_CANARY,
    REDIS_PASSWORD: REDIS_CANARY,
    // The Debian-built test images (PostgreSQL 17 answering to postgres:16, Redis 8's stand-in redis:7).
    POSTGRES_IMAGE: 'postgres:16',
    REDIS_IMAGE: 'redis:7',
    BACKUP_BUCKET: BUCKET,
    BACKUP_PREFIX: 'familycart/test',
    // The test starts the backup itself; the timer must not fire in between.
    BACKUP_SCHEDULE: '*-06-15 03:15:00',
    SECRET_KEY: 'jwt-signing-key-for-the-test-0123456789abcdef',
    REGISTRY,
    REGISTRY_USER: 'deploy',
    REGISTRY_PASSWORD: TOKEN.reveal(),
    BACKEND_IMAGE: `${REGISTRY}/familycart/backend`,
    FRONTEND_IMAGE: `${REGISTRY}/familycart/frontend`,
    FAMILYCART_SHA: SHA.good,
    SERVER_NAMES: 'familycart.test',
    CF_IPS_URL: CF_URL,
    // The first pull and start under software emulation on a shared 2-core machine take minutes.
    HEALTH_DEADLINE_SECONDS: '600',
    ...extra,
  });
}
