import { type CatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'gratonite', title: 'Gratonite on one ARM host: volume, Docker, firewall, Caddy, coturn, gated bring-up', load: async () => (await import('./index.ts')).bringUp },
  { name: 'gratonite.secrets', title: 'Gratonite: generate every secret into a new env file (mode 600, never printed)', load: async () => (await import('./index.ts')).secrets },
  { name: 'gratonite.smoke', title: 'Gratonite: the post-deploy smoke checklist, from outside', load: async () => (await import('./index.ts')).smoke },
  { name: 'gratonite.rollback', title: 'Gratonite: back to the previous (or a named) deploy, then the smoke checklist', load: async () => (await import('./index.ts')).rollback },
];

export const title = (name: string): string => titleIn(catalog, name);
