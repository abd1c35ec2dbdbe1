import { type CatalogEntry, type SystemCatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'familycart.stateful', title: 'FamilyCart stateful host: PostgreSQL and Redis for the app host only, nightly dumps', load: async () => (await import('./index.ts')).stateful },
  { name: 'familycart.app', title: 'FamilyCart app host: Cloudflare-only firewall, nginx, backend and frontend deployed by SHA', load: async () => (await import('./index.ts')).app },
  { name: 'familycart.rollback', title: 'FamilyCart: go back to the previous (or a named) SHA', load: async () => (await import('./index.ts')).rollback },
  { name: 'familycart.smoke', title: 'FamilyCart smoke from outside: frontend, backend health, the backend reaching PostgreSQL and Redis', load: async () => (await import('./index.ts')).smoke },
  { name: 'familycart.backup', title: 'FamilyCart: take a dump now (what the nightly timer runs)', load: async () => (await import('./index.ts')).backup },
  { name: 'familycart.restore', title: 'FamilyCart: restore the newest dump and prove it equal', load: async () => (await import('./index.ts')).restore },
];

export const title = (name: string): string => titleIn(catalog, name);

/** Both hosts in order: `runbook run familycart --target stateful=...,app=...`. */
export const system: SystemCatalogEntry = {
  name: 'familycart',
  title: 'FamilyCart on two hosts: base-host and the stateful host, then base-host and the app host',
  load: async () => (await import('./system.ts')).system,
};
