// TEST STAND-IN, NOT THE PRODUCT.
//
// The compute, load balancer, Vault and IAM state the OCI CLI stand-in and the stand-in cloud
// (cloud.ts: instances as HTTP servers, the load balancer) share: one JSON file in
// OCI_STANDIN_ROOT, read and written under a mkdir lock, so CLI processes and the cloud process
// see one state. Node built-ins only.
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface InstanceConfiguration {
  id: string;
  compartmentId: string;
  displayName: string | null;
  freeformTags: Record<string, string>;
  definedTags: Record<string, unknown>;
  instanceDetails: Record<string, unknown>;
  timeCreated: string;
}

export interface LbAttachment {
  id: string;
  loadBalancerId: string;
  backendSetName: string;
  port: number;
}

export interface Pool {
  id: string;
  compartmentId: string;
  displayName: string;
  instanceConfigurationId: string;
  size: number;
  freeformTags: Record<string, string>;
  availabilityDomain: string;
  subnetId: string;
  loadBalancers: LbAttachment[];
  timeCreated: string;
}

/** Instance states as `instance-pool list-instances` prints them (title case); the Instance model's are upper case. */
export type InstanceState = 'Provisioning' | 'Running' | 'Terminating' | 'Terminated';

export interface Instance {
  id: string;
  poolId: string | null;
  compartmentId: string;
  configId: string;
  displayName: string;
  ip: string;
  subnetId: string;
  image: string;
  state: InstanceState;
  /** When the cloud may move it on (boot finished, termination finished), epoch ms. */
  nextAt: number;
  faultDomain: string;
  timeCreated: string;
}

export interface Backend {
  ipAddress: string;
  port: number;
  weight: number;
  backup: boolean;
  drain: boolean;
  offline: boolean;
  maxConnections: number | null;
}

export interface HealthChecker {
  protocol: string;
  urlPath: string;
  port: number;
  returnCode: number;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
}

export interface BackendSet {
  name: string;
  policy: string;
  healthChecker: HealthChecker;
  backends: Record<string, Backend>;
}

export interface LoadBalancer {
  id: string;
  compartmentId: string;
  backendSets: Record<string, BackendSet>;
  etag: string;
}

/** What the cloud's health checker last saw, per "lbId/backendSet/ip:port". */
export interface BackendHealthState {
  status: 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  last: string; // health-check-status of the last probe: OK, CONNECT_FAILED, TIMED_OUT, INVALID_STATUS_CODE
  at: string;
  since: number; // epoch ms of the last status change
}

export interface WorkRequest {
  id: string;
  kind: 'lb' | 'compute';
  operation: string;
  compartmentId: string;
  loadBalancerId?: string;
  resourceId?: string;
  timeAccepted: string;
  doneAt: number;
  failed?: string;
}

export interface SecretVersion {
  number: number;
  name?: string; // --secret-content-name (unique per secret)
  content: string; // base64, as Vault stores it
  timeCreated: string;
}
export interface VaultSecret {
  id: string;
  name: string;
  compartmentId: string;
  vaultId: string;
  keyId: string;
  versions: SecretVersion[];
  timeCreated: string;
}

export interface AuthToken {
  id: string;
  userId: string;
  description: string;
  token: string;
  lifecycleState: 'ACTIVE' | 'DELETED';
  timeCreated: string;
}

export interface CloudState {
  configs: Record<string, InstanceConfiguration>;
  pools: Record<string, Pool>;
  instances: Record<string, Instance>;
  lbs: Record<string, LoadBalancer>;
  health: Record<string, BackendHealthState>;
  workRequests: Record<string, WorkRequest>;
  secrets: Record<string, VaultSecret>;
  authTokens: Record<string, AuthToken>;
  /** Next last octet for a new instance's 127.0.0.N address. */
  nextHost: number;
  /** Milliseconds one "second" of the stand-in's waits lasts (tests scale time down). */
  msPerSecond: number;
  /** Milliseconds an LB work request takes to succeed; an instance takes to boot / to terminate. */
  workRequestMs: number;
  bootMs: number;
  terminateMs: number;
}

export const emptyState = (): CloudState => ({ configs: {}, pools: {}, instances: {}, lbs: {}, health: {}, workRequests: {}, secrets: {}, authTokens: {}, nextHost: 10, msPerSecond: 1000, workRequestMs: 200, bootMs: 500, terminateMs: 300 });

const file = (root: string) => join(root, 'cloud.json');
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function readState(root: string): CloudState {
  const f = file(root);
  return existsSync(f) ? { ...emptyState(), ...(JSON.parse(readFileSync(f, 'utf8')) as CloudState) } : emptyState();
}

/** Read-modify-write under the lock; a lock older than 10 s belongs to a killed process and is taken over. */
export function updateState<T>(root: string, change: (s: CloudState) => T): T {
  mkdirSync(root, { recursive: true });
  const lock = join(root, 'cloud.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) {
        rmdirSync(lock);
        continue;
      }
      sleepSync(3);
    }
  }
  try {
    const s = readState(root);
    const out = change(s);
    const tmp = `${file(root)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(s));
    renameSync(tmp, file(root));
    return out;
  } finally {
    rmdirSync(lock);
  }
}

export const healthKey = (lbId: string, bs: string, name: string) => `${lbId}/${bs}/${name}`;
export const imageOf = (c: InstanceConfiguration | undefined): string => {
  const meta = ((c?.instanceDetails.launchDetails as Record<string, unknown> | undefined)?.metadata ?? {}) as Record<string, string>;
  return meta.triviapay_image_tag ?? 'unknown';
};
