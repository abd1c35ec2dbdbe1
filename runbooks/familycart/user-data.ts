// First boot of each FamilyCart host through cloud-init: base-host's user-data (admin account,
// SSH hardening, the firewall with SSH from the operator CIDRs only, journald bounds, swap for a
// 1 GB host, unattended upgrades) plus the role's packages and the Docker engine enabled at boot.
// No secret goes into user-data (instance metadata is readable by every process on the host), so
// the role itself (its env files, the containers, the deploy) comes after, from
// `runbook run familycart --target stateful=...,app=...`, which finds the first boot's steps done.
import { parse, stringify } from 'yaml';
import { renderUserData } from '../../lib/core/assets.ts';
import { type BaseHostConfig, templateVars } from '../base-host/index.ts';

export type Role = 'stateful' | 'app';

/** What each role installs at first boot (all from the distribution). */
export const ROLE_PACKAGES: Record<Role, string[]> = {
  stateful: ['docker.io', 'jq', 'curl'],
  app: ['docker.io', 'nginx-light', 'nodejs', 'curl'],
};

// Compose v2 is `docker-compose-v2` on Ubuntu and `docker-compose` on Debian 13; the runbook's
// compose-v2 step says so if neither gave it.
const COMPOSE_V2 = 'docker compose version >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose-v2 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose || echo "familycart first boot: no Compose v2 package found; familycart.stateful/app will stop at its compose-v2 step" >&2';

export function roleUserData(role: Role, base: BaseHostConfig): string {
  const doc = parse(renderUserData('cloud-init/base-host.yaml', templateVars(base))) as Record<string, unknown> & { runcmd?: unknown[] };
  doc.packages = ROLE_PACKAGES[role];
  doc.runcmd = [...(doc.runcmd ?? []), ['sh', '-c', COMPOSE_V2], ['systemctl', 'enable', '--now', 'docker.service']];
  const header = [
    '#cloud-config',
    `# First boot of a FamilyCart ${role} host: base-host's user-data, the ${role} role's packages`,
    '# (the Docker engine among them, enabled at boot). No secret belongs here; the role comes after,',
    '# over SSH: runbook run familycart --target stateful=ssh://...,app=ssh://... --env familycart.env',
    `# Render it with real values: runbook user-data familycart.${role} --env base-host.env > user-data`,
  ];
  return `${header.join('\n')}\n${stringify(doc, { lineWidth: 0 })}`;
}
