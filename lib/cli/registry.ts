import { catalog as baseHost } from '../../runbooks/base-host/catalog.ts';
import { catalog as centralDb } from '../../runbooks/central-db/catalog.ts';
import { catalog as eventfoldDb } from '../../runbooks/eventfold-db/catalog.ts';
import { catalog as familycart, system as familycartSystem } from '../../runbooks/familycart/catalog.ts';
import { catalog as gratonite } from '../../runbooks/gratonite/catalog.ts';
import { catalog as triviapay } from '../../runbooks/triviapay/catalog.ts';
import type { CatalogEntry, SystemCatalogEntry } from './catalog.ts';

export type Entry = CatalogEntry;

/** Every runbook, as each system declares it under runbooks/; none is imported until used. */
export const RUNBOOKS: Entry[] = [...baseHost, ...eventfoldDb, ...centralDb, ...triviapay, ...familycart, ...gratonite];

export function findRunbook(name: string): Entry | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}

export type SystemEntry = SystemCatalogEntry;

/** Systems that span hosts: `runbook run NAME --target ROLE=TARGET,...` runs each role's runbooks in order. */
export const SYSTEMS: SystemEntry[] = [
  familycartSystem,
];

export function findSystem(name: string): SystemEntry | undefined {
  return SYSTEMS.find((s) => s.name === name);
}
