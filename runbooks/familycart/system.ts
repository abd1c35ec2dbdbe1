import { read } from '../../lib/core/cmd.ts';
import { checks } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { type System, addressIn } from '../../lib/engine/system.ts';
import type { Executor } from '../../lib/exec/types.ts';
import { system as familycartSystem } from './catalog.ts';

/** A host's one address in the private subnet, as `ip` reports it (no metadata service needed). */
async function privateAddress(exec: Executor, subnet: string): Promise<string> {
  const r = await exec.run(read(['ip', '-o', '-4', 'addr', 'show', 'to', subnet]));
  const found = addressIn(r.stdout);
  if (found.length !== 1) {
    throw new RunbookError('precondition', `${exec.host} has ${found.length ? `${found.length} addresses (${found.join(', ')})` : 'no address'} in PRIVATE_SUBNET ${subnet}; it needs exactly one`, {
      host: exec.host,
      hint: `check PRIVATE_SUBNET against \`ip -4 addr\` on ${exec.host} (the VCN subnet both hosts share)`,
    });
  }
  return found[0] as string;
}

/** FamilyCart on two hosts: the stateful one first (PostgreSQL, Redis), then the app one. */
export const system: System = {
  name: 'familycart',
  title: familycartSystem.title,
  seed: 'familycart-oci-free-tier.md',
  summary: 'base-host and familycart.stateful on the stateful host, then base-host and familycart.app on the app host; each host\'s address in PRIVATE_SUBNET is learned first, so the stateful host admits exactly the app host and the app host finds the database.',
  roles: [
    { role: 'stateful', doc: 'PostgreSQL and Redis, admitted only from the app host; the nightly dump', runbooks: ['base-host', 'familycart.stateful'] },
    { role: 'app', doc: 'Cloudflare-only firewall, nginx, backend and frontend', runbooks: ['base-host', 'familycart.app'] },
  ],
  vars: {
    PRIVATE_SUBNET: { description: 'the private subnet both hosts share (each host\'s address in it is learned from the host)', example: '10.0.1.0/24', check: checks.cidr },
  },
  async facts(_role, exec, env) {
    return { privateIp: await privateAddress(exec, env.PRIVATE_SUBNET as string) };
  },
  wire(f) {
    const stateful = f.stateful?.privateIp as string;
    const app = f.app?.privateIp as string;
    return { stateful: { PRIVATE_IP: stateful, APP_CIDRS: `${app}/32` }, app: { STATEFUL_PRIVATE_IP: stateful } };
  },
};
