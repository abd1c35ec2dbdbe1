import { type CatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'base-host', title: 'Base host: the common ground of every system', load: async () => (await import('./index.ts')).runbook },
];

export const title = (name: string): string => titleIn(catalog, name);
