import type { System } from '../engine/system.ts';
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
  { name: 'central-db', system: 'central-db', summary: 'Central data platform bring-up: /srv, Docker, PostgreSQL 17 + pgvector -> PgBouncer -> Redis, backup timer', load: async () => (await import('../../runbooks/central-db/index.ts')).bringUp },
  { name: 'central-db.onboard', system: 'central-db', summary: 'Central data platform: an application role and database with the seed\'s grants', load: async () => (await import('../../runbooks/central-db/index.ts')).onboard },
  { name: 'central-db.rotate-password', system: 'central-db', summary: 'Central data platform: a new strong password for an application role, proved through PgBouncer', load: async () => (await import('../../runbooks/central-db/index.ts')).rotatePassword },
  { name: 'central-db.restore', system: 'central-db', summary: 'Central data platform: verified restore of the newest backup onto an empty platform', load: async () => (await import('../../runbooks/central-db/index.ts')).restore },
  { name: 'central-db.rebuild-db', system: 'central-db', summary: 'Central data platform: drop and rebuild one application database from init.sql and its migrator', load: async () => (await import('../../runbooks/central-db/index.ts')).rebuildDb },
  { name: 'triviapay.rollout', system: 'triviapay', summary: 'TriviaPay: health-gated rolling update of the instance pool to IMAGE_TAG, with automatic return', load: async () => (await import('../../runbooks/triviapay/index.ts')).rollout },
  { name: 'triviapay.rollback', system: 'triviapay', summary: 'TriviaPay: back to the previous (or a named) instance configuration, gated the same way', load: async () => (await import('../../runbooks/triviapay/index.ts')).rollback },
  { name: 'triviapay.secrets', system: 'triviapay', summary: 'TriviaPay: .env.production and OCIR credentials into Vault, never in argv', load: async () => (await import('../../runbooks/triviapay/index.ts')).secrets },
  { name: 'triviapay.rotate-ocir-token', system: 'triviapay', summary: 'TriviaPay: new OCIR auth token into Vault, gated rollout, old token deleted', load: async () => (await import('../../runbooks/triviapay/index.ts')).rotateOcirToken },
  { name: 'triviapay.verify', system: 'triviapay', summary: 'TriviaPay: auth, versioned state bucket, backends = pool instances, one port', load: async () => (await import('../../runbooks/triviapay/index.ts')).verify },
  { name: 'triviapay.smoke', system: 'triviapay', summary: 'TriviaPay: cache-bypassing health (and DB) check through the public URL', load: async () => (await import('../../runbooks/triviapay/index.ts')).smoke },
  { name: 'familycart.stateful', system: 'familycart', summary: 'FamilyCart stateful host: PostgreSQL and Redis for the app host only, nightly dumps', load: async () => (await import('../../runbooks/familycart/index.ts')).stateful },
  { name: 'familycart.app', system: 'familycart', summary: 'FamilyCart app host: Cloudflare-only firewall, nginx, backend and frontend deployed by SHA with rollback', load: async () => (await import('../../runbooks/familycart/index.ts')).app },
  { name: 'familycart.rollback', system: 'familycart', summary: 'FamilyCart: go back to the previous (or a named) SHA', load: async () => (await import('../../runbooks/familycart/index.ts')).rollback },
  { name: 'familycart.backup', system: 'familycart', summary: 'FamilyCart: dump, check and upload the database now', load: async () => (await import('../../runbooks/familycart/index.ts')).backup },
  { name: 'familycart.restore', system: 'familycart', summary: 'FamilyCart: restore the newest dump and prove every table equal to the backup', load: async () => (await import('../../runbooks/familycart/index.ts')).restore },
  { name: 'gratonite', system: 'gratonite', summary: 'Gratonite bring-up: volume, Docker, firewall, Caddy, coturn, secrets checked, gated start of each service', load: async () => (await import('../../runbooks/gratonite/index.ts')).bringUp },
  { name: 'gratonite.secrets', system: 'gratonite', summary: 'Gratonite: strong secrets into a new env file (mode 600, never printed)', load: async () => (await import('../../runbooks/gratonite/index.ts')).secrets },
  { name: 'gratonite.smoke', system: 'gratonite', summary: 'Gratonite: health, register/login, realtime, attachment, public file, TURN and voice', load: async () => (await import('../../runbooks/gratonite/index.ts')).smoke },
  { name: 'gratonite.rollback', system: 'gratonite', summary: 'Gratonite: previous image tags and env snapshot back, API and web only, smoke again', load: async () => (await import('../../runbooks/gratonite/index.ts')).rollback },
];

export function findRunbook(name: string): Entry | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}

export interface SystemEntry {
  name: string;
  summary: string;
  load: () => Promise<System>;
}

/** Systems that span hosts: `runbook run NAME --target ROLE=TARGET,...` runs each role's runbooks in order. */
export const SYSTEMS: SystemEntry[] = [
  { name: 'familycart', summary: 'FamilyCart on two hosts: base-host + stateful, then base-host + app, wired by learned private addresses', load: async () => (await import('../../runbooks/familycart/system.ts')).system },
];

export function findSystem(name: string): SystemEntry | undefined {
  return SYSTEMS.find((s) => s.name === name);
}
