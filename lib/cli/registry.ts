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
  { name: 'eventfold-db', system: 'eventfold-db', summary: 'EventfoldDB bring-up: block volume, install, deploy with health-gated rollback, firewall, backup timer', load: async () => (await import('../../runbooks/eventfold-db/index.ts')).bringUp },
  { name: 'eventfold-db.rollback', system: 'eventfold-db', summary: 'EventfoldDB: switch back to the previous release', load: async () => (await import('../../runbooks/eventfold-db/index.ts')).rollback },
  { name: 'eventfold-db.restore', system: 'eventfold-db', summary: 'EventfoldDB: verified restore of the newest backup', load: async () => (await import('../../runbooks/eventfold-db/index.ts')).restore },
  { name: 'eventfold-db.smoke', system: 'eventfold-db', summary: 'EventfoldDB: health, ReadAll, metrics, journal, kill -9 restart', load: async () => (await import('../../runbooks/eventfold-db/index.ts')).smoke },
];

export function findRunbook(name: string): Entry | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
