import type { Runbook } from '../engine/types.ts';

export interface Entry {
  name: string;
  system: string;
  summary: string;
  load: () => Promise<Runbook<any>>;
}

/** Every runbook, imported lazily so `runbook --help` and `list` load none of them. */
export const RUNBOOKS: Entry[] = [
  { name: 'base-host', system: 'all', summary: 'Admin user, SSH keys only, default-deny nftables, journald limits, security upgrades, swap', load: async () => (await import('../../runbooks/base-host/index.ts')).runbook },
];

export function findRunbook(name: string): Entry | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
