// The deploy record kept on the host (/var/lib/gratonite/deploys.json): each deploy that passed
// every gate, with its image tags, the SHA-256 of its env files (copied beside it as a snapshot)
// and whether its migrations keep the release before it working. Pure: tested without a host.
import { RunbookError } from '../../lib/core/errors.ts';

export interface DeployRecord {
  id: number;
  at: string;
  tag: string;
  apiImage: string;
  webImage: string;
  /** File name (api.env, web.env, compose.env) -> SHA-256 of the copy in snapshots/<id>/. */
  files: Record<string, string>;
  migrationsBackwardCompatible: boolean;
}

export interface DeployState {
  deploys: DeployRecord[];
  current?: number;
}

const isRecord = (r: unknown): r is DeployRecord => {
  const x = r as DeployRecord;
  return typeof x === 'object' && x !== null && Number.isInteger(x.id) && typeof x.tag === 'string' && typeof x.apiImage === 'string' && typeof x.webImage === 'string' && typeof x.files === 'object' && x.files !== null && Object.values(x.files).every((h) => /^[0-9a-f]{64}$/.test(String(h))) && typeof x.migrationsBackwardCompatible === 'boolean';
};

/** The record file; a damaged one is refused (a rollback guessing from it could go anywhere). */
export function parseDeploys(text: string | null): DeployState {
  if (text === null || text.trim() === '') return { deploys: [] };
  let j: { deploys?: unknown; current?: unknown };
  try {
    j = JSON.parse(text) as typeof j;
  } catch {
    throw new RunbookError('precondition', 'the deploy record /var/lib/gratonite/deploys.json is not JSON', { hint: 'look at it by hand; it lists each deploy with its tags and env hashes' });
  }
  const deploys = Array.isArray(j.deploys) ? j.deploys : [];
  if (!deploys.every(isRecord)) throw new RunbookError('precondition', 'the deploy record /var/lib/gratonite/deploys.json holds an entry that is not a deploy', { hint: 'look at it by hand' });
  const current = typeof j.current === 'number' && deploys.some((d) => d.id === j.current) ? j.current : undefined;
  return { deploys, current };
}

export const currentOf = (s: DeployState) => s.deploys.find((d) => d.id === s.current);

/** The same release and the same env files: a re-run records nothing new. */
export const sameDeploy = (a: Omit<DeployRecord, 'id' | 'at'>, b: DeployRecord) =>
  a.apiImage === b.apiImage && a.webImage === b.webImage && JSON.stringify(Object.entries(a.files).sort()) === JSON.stringify(Object.entries(b.files).sort());

/** Appends a deploy (a new id) and makes it current, unless it is the current one already. */
export function recordDeploy(s: DeployState, d: Omit<DeployRecord, 'id'>, keep = 10): { state: DeployState; record: DeployRecord; added: boolean } {
  const cur = currentOf(s);
  if (cur && sameDeploy(d, cur)) return { state: s, record: cur, added: false };
  const record = { ...d, id: Math.max(0, ...s.deploys.map((x) => x.id)) + 1 };
  return { state: { deploys: [...s.deploys, record].slice(-keep), current: record.id }, record, added: true };
}

/**
 * Where a rollback goes: "previous" is the newest deploy older than the current one with another
 * release or other env files; a tag names the newest deploy of that tag. Going back crosses every
 * deploy after the target up to the current one: one whose migrations are not marked backward
 * compatible is refused unless `across` (the older API may not read the newer schema).
 */
export interface Attempt {
  tag: string;
  migrationsBackwardCompatible: boolean;
}

/**
 * `attempt`: what is live on the host when it is not the current record (a deploy whose gate
 * failed, never recorded): "previous" then means the current record, the last that passed.
 */
export function planRollback(s: DeployState, to: string, across: boolean, attempt?: Attempt): { from: DeployRecord | Attempt; target: DeployRecord; crossed: Attempt[] } {
  const cur = currentOf(s);
  if (!cur) throw new RunbookError('precondition', 'no deploy is recorded as current on this host', { hint: 'deploy first: runbook run gratonite' });
  if (attempt && to === 'previous') return guard(cur, cur, [attempt], across, attempt);
  const from = cur;
  const older = s.deploys.filter((d) => d.id < from.id).sort((a, b) => b.id - a.id);
  const target = to === 'previous' ? older.find((d) => !sameDeploy(d, from)) : [...s.deploys].sort((a, b) => b.id - a.id).find((d) => d.tag === to && d.id !== from.id);
  if (!target) throw new RunbookError('precondition', to === 'previous' ? `no earlier deploy than ${from.tag} (#${from.id}) is recorded` : `no recorded deploy of tag ${to} other than the current one`, { hint: `recorded: ${s.deploys.map((d) => `#${d.id} ${d.tag}`).join(', ') || 'none'}; set ROLLBACK_TO to one of them` });
  const crossed: Attempt[] = [...s.deploys.filter((d) => d.id > target.id && d.id <= from.id), ...(attempt ? [attempt] : [])];
  return guard(from, target, crossed, across, attempt ?? from);
}

function guard(_cur: DeployRecord, target: DeployRecord, crossed: Attempt[], across: boolean, from: DeployRecord | Attempt) {
  const unsafe = crossed.filter((d) => !d.migrationsBackwardCompatible);
  if (unsafe.length && !across) {
    throw new RunbookError('precondition', `going back to ${target.tag} (#${target.id}) crosses the migrations of ${unsafe.map((d) => ('id' in d ? `${d.tag} (#${String(d.id)})` : `${d.tag} (live, not recorded)`)).join(', ')}, not marked backward compatible: the older API may not work with the newer schema; nothing was changed`, { hint: 'restore the database from before that deploy, or if you know the schema is safe, re-run with ROLLBACK_ACROSS_MIGRATIONS=yes' });
  }
  return { from, target, crossed };
}
