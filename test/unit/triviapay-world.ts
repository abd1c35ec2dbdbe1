// A TriviaPay world on this machine for the OCI runbooks: the OCI CLI stand-in (bundled once, so
// each call starts like a plain Node script), the stand-in cloud (instances as TriviaPay API
// stand-ins on 127.0.0.N, the load balancer on 127.0.0.1), and the runbook CLI run against them.
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { type CloudState, readState } from '../standins/oci/cloud-state.ts';
import { IDS, type SeedOptions, seedCloud } from '../standins/oci/cloud-seed.ts';
import type { EngineEvent } from '../../lib/engine/types.ts';
import { freePort } from '../../lib/vm/free-port.ts';

export const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CACHE = join(ROOT, 'test/.tmp/triviapay');

/** Health checker and timings scaled down for tests: OK after 2 probes 150 ms apart (a 2 s probe timeout: this machine is shared and busy). */
export const FAST = { intervalMs: 150, timeoutMs: 2000, retries: 2, msPerSecond: 20, bootMs: 300, terminateMs: 200, workRequestMs: 100 };

let bundled: Promise<string> | undefined;
/** The stand-in CLI and cloud as plain .mjs files, and an `oci` launcher on a bin folder. */
export function standinBin(): Promise<string> {
  bundled ??= (async () => {
    mkdirSync(join(CACHE, 'bin'), { recursive: true });
    await build({ entryPoints: [join(ROOT, 'test/standins/oci/oci.ts')], bundle: true, platform: 'node', format: 'esm', outfile: join(CACHE, 'oci.mjs'), logLevel: 'warning' });
    await build({ entryPoints: [join(ROOT, 'test/standins/oci/cloud.ts')], bundle: true, platform: 'node', format: 'esm', outfile: join(CACHE, 'cloud.mjs'), logLevel: 'warning' });
    const launcher = join(CACHE, 'bin/oci');
    writeFileSync(launcher, `#!/bin/sh\nexec node ${join(CACHE, 'oci.mjs')} "$@"\n`);
    chmodSync(launcher, 0o755);
    return join(CACHE, 'bin');
  })();
  return bundled;
}

export interface World {
  root: string;
  port: number;
  lbUrl: string;
  bin: string;
  cloud: ResultPromise;
  state(): CloudState;
  /** Serving-count samples the load balancer recorded: {t, serving}. */
  servingLog(): { t: number; serving: number }[];
  calls(): { argv: string[]; at: string }[];
  env(extra?: Record<string, string>): string;
  stop(): Promise<void>;
}

export async function startWorld(o: Partial<SeedOptions> & { size: number; tag: string; images?: Record<string, { healthStatus?: number }>; faults?: unknown[] }): Promise<World> {
  const bin = await standinBin();
  const root = mkdtempSync(join(tmpdir(), 'triviapay-world-'));
  const port = await freePort();
  seedCloud(root, { ...FAST, port, ...o });
  if (o.images) writeFileSync(join(root, 'images.json'), JSON.stringify(o.images));
  if (o.faults) writeFileSync(join(root, 'faults.json'), JSON.stringify(o.faults));
  const cloud = execa('node', [join(CACHE, 'cloud.mjs')], { env: { OCI_STANDIN_ROOT: root, LB_PORT: '0' }, reject: false, buffer: false });
  const lbPort = await new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error('the stand-in cloud did not start within 30 s')), 30_000);
    cloud.stdout?.on('data', (d: Buffer) => {
      const m = /lb=127\.0\.0\.1:(\d+)/.exec(String(d));
      if (m) {
        clearTimeout(t);
        res(Number(m[1]));
      }
    });
  });
  const w: World = {
    root,
    port,
    lbUrl: `http://127.0.0.1:${lbPort}`,
    bin,
    cloud,
    state: () => readState(root),
    // Only whole lines: the cloud may be appending one right now.
    servingLog: () => (existsSync(join(root, 'lb-health.jsonl')) ? readFileSync(join(root, 'lb-health.jsonl'), 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as { t: number; serving: number }) : []),
    calls: () => (existsSync(join(root, 'calls.log')) ? readFileSync(join(root, 'calls.log'), 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as { argv: string[]; at: string }) : []),
    env(extra = {}) {
      const values: Record<string, string> = {
        INSTANCE_POOL_ID: IDS.pool,
        COMPARTMENT_OCID: IDS.compartment,
        LB_ID: IDS.lb,
        LB_BACKEND_SET_NAME: 'api-backend',
        BACKEND_PORT: String(port),
        OCIR_REPO_URL: 'iad.ocir.io/standinns/triviapay-api',
        APP_ENV_SECRET_ID: IDS.appEnvSecret,
        OCIR_USERNAME_SECRET_ID: IDS.ocirUserSecret,
        OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret,
        BACKEND_DRAIN_TIMEOUT_SECONDS: '1',
        MAX_WAIT_SECONDS: '60',
        LB_WAIT_TIMEOUT_SECONDS: '20',
        POLL_SECONDS: '0.2',
        CAPACITY_RETRY_SECONDS: '0.2',
        ...extra,
      };
      const p = join(root, `run-${Math.random().toString(36).slice(2)}.env`);
      writeFileSync(p, Object.entries(values).map(([k, v]) => `${k}="${v}"\n`).join(''), { mode: 0o600 });
      return p;
    },
    async stop() {
      cloud.kill('SIGTERM');
      await cloud.catch(() => undefined);
    },
  };
  await waitUntil(() => w.servingLog().at(-1)?.serving === o.size, 30_000, `${o.size} healthy backends at the start`);
  return w;
}

/** Polls (no bare sleep) until the condition holds; fails the test naming what was awaited. */
export async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  events: EngineEvent[];
}

/** `runbook run NAME --target local --env FILE --json` with the stand-ins on PATH. */
export function runbook(w: World, name: string, envFile: string, extraEnv: Record<string, string> = {}): ResultPromise {
  return execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), 'run', name, '--target', 'local', '--env', envFile, '--json'], {
    reject: false,
    input: '',
    timeout: 280_000,
    env: { PATH: `${w.bin}:${process.env.PATH}`, OCI_STANDIN_ROOT: w.root, OCI_STANDIN_FAULTS: join(w.root, 'faults.json'), HOME: process.env.HOME, ...extraEnv },
    extendEnv: false,
  });
}

export async function finished(p: ResultPromise): Promise<RunResult> {
  const r = await p;
  const stdout = String(r.stdout ?? '');
  return { exitCode: r.exitCode ?? -1, stdout, stderr: String(r.stderr ?? ''), events: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as EngineEvent) };
}

/** The pool as a test checks it: members by configuration, size, drained backends, rollout tags. */
export function poolSummary(s: CloudState) {
  const pool = s.pools[IDS.pool];
  if (!pool) throw new Error('no pool');
  const members = Object.values(s.instances).filter((i) => i.poolId === pool.id && (i.state === 'Running' || i.state === 'Provisioning'));
  const backends = Object.entries(s.lbs[IDS.lb]?.backendSets['api-backend']?.backends ?? {});
  const orphans = Object.values(s.instances).filter((i) => !i.poolId && (i.state === 'Running' || i.state === 'Provisioning'));
  return {
    size: pool.size,
    configImage: (s.configs[pool.instanceConfigurationId]?.instanceDetails.launchDetails as { metadata: Record<string, string> }).metadata.triviapay_image_tag,
    images: members.map((i) => i.image).sort(),
    tags: pool.freeformTags,
    drained: backends.filter(([, b]) => b.drain).map(([n]) => n),
    backends: backends.map(([n]) => n).sort(),
    memberBackends: members.map((i) => `${i.ip}:${pool.loadBalancers[0]?.port}`).sort(),
    orphans: orphans.map((i) => i.id),
  };
}
