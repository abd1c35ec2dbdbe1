import { RunbookError } from '../../lib/core/errors.ts';
import type { TriviapayConfig } from './config.ts';
import type { Oci } from './oci.ts';

export interface PoolView {
  id: string;
  size: number;
  configId: string;
  lifecycleState: string;
  tags: Record<string, string>;
}

export interface Member {
  id: string;
  configId: string;
  /** Title case in list-instances ("Running"); compared case-insensitively. */
  state: string;
  /** The pool's view of its backend's health (OK, WARNING, CRITICAL, UNKNOWN or UNKNOWN_ENUM_VALUE). */
  backendHealth: string;
}

export interface BackendView {
  name: string;
  weight: number;
  backup: boolean;
  drain: boolean;
  offline: boolean;
  maxConnections: number | null;
}

export interface Health {
  status: string;
  /** The probes' last answers, e.g. "CONNECT_FAILED, CONNECT_FAILED". */
  last: string;
}

/** Freeform tags that record a rollout in progress on the pool itself, so a re-run (or CI) finds them. */
export const TAG_SIZE = 'triviapay-rollout-size';
export const TAG_FLOOR = 'triviapay-rollout-floor';
/** On an instance configuration: the one it replaced (what rollback returns to), and its image tag. */
export const TAG_PREVIOUS = 'triviapay-previous-configuration';
export const TAG_IMAGE = 'triviapay-image-tag';

export const isRunning = (m: Member) => m.state.toLowerCase() === 'running';
/** Members still in the pool's count: booting or running (not stopping or gone). */
export const isLive = (m: Member) => ['provisioning', 'starting', 'running'].includes(m.state.toLowerCase());

/** Reads of the pool and its load balancer, in the shapes the real CLI prints. */
export class PoolApi {
  constructor(
    readonly oci: Oci,
    readonly c: TriviapayConfig,
  ) {}

  get lbArgs(): string[] {
    return ['--load-balancer-id', this.c.lbId, '--backend-set-name', this.c.backendSet];
  }

  async pool(): Promise<PoolView> {
    const p = await this.oci.data<Record<string, unknown>>(['compute-management', 'instance-pool', 'get', '--instance-pool-id', this.c.poolId]);
    if (!p) throw new RunbookError('stepFailed', `instance pool ${this.c.poolId}: no answer`, { hint: `oci compute-management instance-pool get --instance-pool-id ${this.c.poolId}` });
    return { id: String(p.id), size: Number(p.size), configId: String(p['instance-configuration-id']), lifecycleState: String(p['lifecycle-state']), tags: (p['freeform-tags'] ?? {}) as Record<string, string> };
  }

  async members(): Promise<Member[]> {
    const items = await this.oci.list<Record<string, unknown>>(['compute-management', 'instance-pool', 'list-instances', '--instance-pool-id', this.c.poolId, '--compartment-id', this.c.compartmentId, '--all']);
    return items.map((i) => {
      const lbs = (i['load-balancer-backends'] ?? []) as Record<string, unknown>[];
      const mine = lbs.find((b) => b['load-balancer-id'] === this.c.lbId && b['backend-set-name'] === this.c.backendSet);
      return { id: String(i.id), configId: String(i['instance-configuration-id']), state: String(i.state), backendHealth: String(mine?.['backend-health-status'] ?? 'UNKNOWN') };
    });
  }

  /** The instance's backend IP: its VNIC in VNIC_SUBNET_ID when set (none there is an error), else the primary VNIC. */
  async privateIp(instanceId: string): Promise<string | null> {
    const vnics = await this.oci.list<Record<string, unknown>>(['compute', 'instance', 'list-vnics', '--instance-id', instanceId]);
    if (!vnics.length) return null;
    const pick = this.c.vnicSubnetId ? vnics.find((v) => v['subnet-id'] === this.c.vnicSubnetId) : (vnics.find((v) => v['is-primary'] === true) ?? vnics[0]);
    if (!pick) {
      throw new RunbookError('stepFailed', `instance ${instanceId} has no VNIC in VNIC_SUBNET_ID ${this.c.vnicSubnetId} (its subnets: ${vnics.map((v) => String(v['subnet-id'])).join(', ')})`, { hint: 'check VNIC_SUBNET_ID against the pool\'s placement subnet, or unset it to use the primary VNIC' });
    }
    return String(pick['private-ip']);
  }

  async backends(): Promise<BackendView[]> {
    const items = await this.oci.list<Record<string, unknown>>(['lb', 'backend', 'list', ...this.lbArgs, '--all']);
    return items.map(toBackend);
  }

  async backend(name: string): Promise<BackendView> {
    const b = await this.oci.data<Record<string, unknown>>(['lb', 'backend', 'get', ...this.lbArgs, '--backend-name', name]);
    if (!b) throw new RunbookError('stepFailed', `backend ${name}: no answer`);
    return toBackend(b);
  }

  async health(name: string): Promise<Health> {
    const h = await this.oci.data<Record<string, unknown>>(['lb', 'backend-health', 'get', ...this.lbArgs, '--backend-name', name]);
    const results = ((h?.['health-check-results'] ?? []) as Record<string, unknown>[]).map((r) => String(r['health-check-status']));
    return { status: String(h?.status ?? 'UNKNOWN'), last: results.length ? results.join(', ') : 'no probe results yet' };
  }

  /** Sets drain on a backend, sending back its weight, backup, offline and max-connections (the update replaces all). */
  async setDrain(b: BackendView, drain: boolean): Promise<void> {
    const r = await this.oci.call<{ data?: Record<string, unknown> }>(
      ['lb', 'backend', 'update', ...this.lbArgs, '--backend-name', b.name, '--weight', String(b.weight), '--backup', String(b.backup), '--drain', String(drain), '--offline', String(b.offline), ...(b.maxConnections ? ['--max-connections', String(b.maxConnections)] : []), '--wait-for-state', 'SUCCEEDED', '--wait-for-state', 'FAILED'],
      { write: true, what: `set drain=${drain} on backend ${b.name}` },
    );
    const st = r?.data?.['lifecycle-state'];
    if (!this.oci.dryRun && st !== 'SUCCEEDED') {
      throw new RunbookError('stepFailed', `setting drain=${drain} on backend ${b.name} ended ${String(st)}: ${JSON.stringify(r?.data?.['error-details'] ?? [])}`, { hint: 're-run; if it fails again, check the load balancer\'s work requests in the console' });
    }
  }
}

function toBackend(b: Record<string, unknown>): BackendView {
  return { name: String(b.name), weight: Number(b.weight ?? 1), backup: b.backup === true, drain: b.drain === true, offline: b.offline === true, maxConnections: b['max-connections'] === null || b['max-connections'] === undefined ? null : Number(b['max-connections']) };
}
