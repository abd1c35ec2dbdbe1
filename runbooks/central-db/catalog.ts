import { type CatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'central-db', title: 'Central data platform: PostgreSQL 17 + pgvector, PgBouncer, Redis under /srv, backed up', load: async () => (await import('./index.ts')).bringUp },
  { name: 'central-db.onboard', title: 'Central data platform: onboard an application database', load: async () => (await import('./index.ts')).onboard },
  { name: 'central-db.rotate-password', title: 'Central data platform: rotate an application role\'s password', load: async () => (await import('./index.ts')).rotatePassword },
  { name: 'central-db.restore', title: 'Central data platform: disaster recovery from Object Storage', load: async () => (await import('./index.ts')).restore },
  { name: 'central-db.rebuild-db', title: 'Central data platform: rebuild one application database from its schema', load: async () => (await import('./index.ts')).rebuildDb },
];

export const title = (name: string): string => titleIn(catalog, name);
