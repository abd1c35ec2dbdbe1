// TEST STAND-IN, NOT THE PRODUCT: the stand-in cloud's state as the OCI CLI prints its models
// (oci-python-sdk InstancePool, InstanceSummary, Instance, Vnic, work_requests.WorkRequest,
// load_balancer.WorkRequest, BackendSetHealth, vault.Secret), kebab-case keys, CLI timestamps.
import { pyTime } from './cli-io.ts';
import { type BackendSet, type CloudState, type Instance, type Pool, type VaultSecret, type WorkRequest, healthKey, imageOf } from './cloud-state.ts';

const FREEFORM = new Set(['metadata', 'extendedMetadata', 'freeformTags', 'definedTags']);

/** The SDK's to_dict: model keys camelCase -> kebab-case; free-form dicts keep the keys they were given. */
export function toKebab(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toKebab);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), FREEFORM.has(k) ? x : toKebab(x)]));
}

/** RUNNING once the pool has exactly `size` running members and nothing is booting or stopping. */
export function poolState(s: CloudState, p: Pool): string {
  const members = Object.values(s.instances).filter((i) => i.poolId === p.id && i.state !== 'Terminated');
  const settled = members.length === p.size && members.every((i) => i.state === 'Running');
  return settled ? 'RUNNING' : 'SCALING';
}

export function poolModel(s: CloudState, p: Pool): Record<string, unknown> {
  return {
    'compartment-id': p.compartmentId,
    'current-size': Object.values(s.instances).filter((i) => i.poolId === p.id && i.state === 'Running').length,
    'defined-tags': {},
    'display-name': p.displayName,
    'freeform-tags': p.freeformTags,
    id: p.id,
    'instance-configuration-id': p.instanceConfigurationId,
    'instance-display-name-formatter': null,
    'instance-hostname-formatter': null,
    'lifecycle-management': null,
    'lifecycle-state': poolState(s, p),
    'load-balancers': p.loadBalancers.map((a) => ({ 'backend-set-name': a.backendSetName, id: a.id, 'instance-pool-id': p.id, 'lifecycle-state': 'ATTACHED', 'load-balancer-id': a.loadBalancerId, port: a.port, 'vnic-selection': 'PrimaryVnic' })),
    'placement-configurations': [
      {
        'availability-domain': p.availabilityDomain,
        'compute-cluster-id': null,
        'fault-domains': ['FAULT-DOMAIN-1', 'FAULT-DOMAIN-2', 'FAULT-DOMAIN-3'],
        'primary-subnet-id': p.subnetId,
        'primary-vnic-subnets': { 'ipv6-address-ipv6-subnet-cidr-pair-details': null, 'is-assign-ipv6-ip': false, 'subnet-id': p.subnetId },
        'secondary-vnic-subnets': null,
      },
    ],
    'pool-type': 'INSTANCE',
    size: p.size,
    'time-created': pyTime(p.timeCreated),
  };
}

export function instanceSummary(s: CloudState, p: Pool, i: Instance): Record<string, unknown> {
  return {
    'availability-domain': p.availabilityDomain,
    'compartment-id': i.compartmentId,
    'display-name': i.displayName,
    'fault-domain': i.faultDomain,
    id: i.id,
    'instance-configuration-id': i.configId,
    'load-balancer-backends': p.loadBalancers.map((a) => {
      const name = `${i.ip}:${a.port}`;
      const present = Boolean(s.lbs[a.loadBalancerId]?.backendSets[a.backendSetName]?.backends[name]);
      return { 'backend-health-status': present ? (s.health[healthKey(a.loadBalancerId, a.backendSetName, name)]?.status ?? 'UNKNOWN') : 'UNKNOWN', 'backend-name': name, 'backend-set-name': a.backendSetName, 'load-balancer-id': a.loadBalancerId };
    }),
    region: 'iad',
    shape: 'VM.Standard.A1.Flex',
    state: i.state,
    'time-created': pyTime(i.timeCreated),
  };
}

export function instanceModel(s: CloudState, i: Instance): Record<string, unknown> {
  const c = s.configs[i.configId];
  return {
    'availability-domain': 'Uocm:US-ASHBURN-AD-1',
    'compartment-id': i.compartmentId,
    'defined-tags': {},
    'display-name': i.displayName,
    'fault-domain': i.faultDomain,
    'freeform-tags': {},
    id: i.id,
    'image-id': 'ocid1.image.oc1.iad.standin',
    'instance-configuration-id': i.configId,
    'lifecycle-state': i.state.toUpperCase(),
    metadata: { triviapay_image_tag: imageOf(c) },
    region: 'iad',
    shape: 'VM.Standard.A1.Flex',
    'time-created': pyTime(i.timeCreated),
  };
}

export function vnicModel(i: Instance): Record<string, unknown> {
  return {
    'availability-domain': 'Uocm:US-ASHBURN-AD-1',
    'compartment-id': i.compartmentId,
    'defined-tags': {},
    'display-name': i.displayName,
    'freeform-tags': {},
    'hostname-label': i.displayName,
    id: `ocid1.vnic.oc1.iad.${i.id.slice(-24)}`,
    'ipv6-addresses': null,
    'is-primary': true,
    'lifecycle-state': 'AVAILABLE',
    'mac-address': '02:00:17:00:00:01',
    'nsg-ids': [],
    'private-ip': i.ip,
    'public-ip': null,
    'route-table-id': null,
    'security-attributes': {},
    'skip-source-dest-check': false,
    'subnet-id': i.subnetId,
    'time-created': pyTime(i.timeCreated),
    'vlan-id': null,
  };
}

const wrStatus = (w: WorkRequest) => (Date.now() < w.doneAt ? 'IN_PROGRESS' : w.failed ? 'FAILED' : 'SUCCEEDED');

/** work_requests.WorkRequest (compute work requests): `status`, not `lifecycle-state`. */
export function wrModel(w: WorkRequest): Record<string, unknown> {
  const st = wrStatus(w);
  return {
    'compartment-id': w.compartmentId,
    id: w.id,
    'operation-type': w.operation,
    'percent-complete': st === 'IN_PROGRESS' ? 50 : 100,
    resources: [
      { 'action-type': 'IN_PROGRESS', 'entity-type': 'instance', 'entity-uri': null, identifier: w.resourceId },
      { 'action-type': 'RELATED', 'entity-type': 'instancePool', 'entity-uri': null, identifier: null },
    ],
    status: st,
    'time-accepted': pyTime(w.timeAccepted),
    'time-finished': st === 'IN_PROGRESS' ? null : pyTime(new Date(w.doneAt).toISOString()),
    'time-started': pyTime(w.timeAccepted),
  };
}

/** load_balancer.WorkRequest. */
export function lbWorkRequest(w: WorkRequest): Record<string, unknown> {
  const st = wrStatus(w);
  return {
    'compartment-id': w.compartmentId,
    'error-details': w.failed ? [{ 'error-code': 'BAD_INPUT', message: w.failed }] : [],
    id: w.id,
    'lifecycle-state': st,
    'load-balancer-id': w.loadBalancerId,
    message: 'standin workflow',
    'time-accepted': pyTime(w.timeAccepted),
    'time-finished': st === 'IN_PROGRESS' ? null : pyTime(new Date(w.doneAt).toISOString()),
    type: w.operation,
  };
}

/** OK: all OK; WARNING: half or more OK; CRITICAL: fewer than half OK; UNKNOWN: more than half unknown. */
export function backendSetHealth(s: CloudState, lbId: string, bs: BackendSet): Record<string, unknown> {
  const names = Object.keys(bs.backends);
  const st = (n: string) => s.health[healthKey(lbId, bs.name, n)]?.status ?? 'UNKNOWN';
  const by = (x: string) => names.filter((n) => st(n) === x);
  const ok = by('OK').length;
  const status = names.length && by('UNKNOWN').length * 2 > names.length ? 'UNKNOWN' : ok === names.length ? 'OK' : ok * 2 >= names.length ? 'WARNING' : 'CRITICAL';
  return { 'critical-state-backend-names': by('CRITICAL'), status, 'total-backend-count': names.length, 'unknown-state-backend-names': by('UNKNOWN'), 'warning-state-backend-names': by('WARNING') };
}

export function secretModel(sec: VaultSecret, state: string): Record<string, unknown> {
  return {
    'compartment-id': sec.compartmentId,
    'current-version-number': sec.versions.at(-1)?.number ?? 0,
    'defined-tags': {},
    description: null,
    'freeform-tags': {},
    id: sec.id,
    'is-auto-generation-enabled': false,
    'is-replica': false,
    'key-id': sec.keyId,
    'last-rotation-time': null,
    'lifecycle-details': null,
    'lifecycle-state': state,
    metadata: null,
    'next-rotation-time': null,
    'replication-config': null,
    'rotation-config': null,
    'rotation-status': null,
    'secret-generation-context': null,
    'secret-name': sec.name,
    'secret-rules': [],
    'source-region-information': null,
    'time-created': pyTime(sec.timeCreated),
    'time-of-current-version-expiry': null,
    'time-of-deletion': null,
    'vault-id': sec.vaultId,
  };
}
