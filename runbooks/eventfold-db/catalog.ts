import { type CatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'eventfold-db', title: 'EventfoldDB on an A1 Flex: volume, install, deploy, firewall, backups', load: async () => (await import('./index.ts')).bringUp },
  { name: 'eventfold-db.rollback', title: 'EventfoldDB: roll back to the previous (or a named) release', load: async () => (await import('./index.ts')).rollback },
  { name: 'eventfold-db.restore', title: 'EventfoldDB: restore the newest backup', load: async () => (await import('./index.ts')).restore },
  { name: 'eventfold-db.smoke', title: 'EventfoldDB: smoke checks (the PRD\'s acceptance criteria)', load: async () => (await import('./index.ts')).smoke },
];

export const title = (name: string): string => titleIn(catalog, name);
