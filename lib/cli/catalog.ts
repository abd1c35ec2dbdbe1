import type { System } from '../engine/system.ts';
import type { Runbook } from '../engine/types.ts';

/**
 * One runbook as a system declares it in its `runbooks/<system>/catalog.ts`: the name and title
 * live there only (the runbook takes its title from the catalog), and the runbook itself is
 * imported when it is used, so `runbook --help` and `list` load none.
 */
export interface CatalogEntry {
  name: string;
  title: string;
  load: () => Promise<Runbook<any>>;
}

export function titleIn(catalog: CatalogEntry[], name: string): string {
  const e = catalog.find((c) => c.name === name);
  if (!e) throw new Error(`${name} is not in its system's catalog`);
  return e.title;
}

/** A system that spans hosts, declared the same way (its title here only). */
export interface SystemCatalogEntry {
  name: string;
  title: string;
  load: () => Promise<System>;
}
