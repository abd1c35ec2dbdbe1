// A backup bucket is checked before it is trusted: its lifecycle policy and retention rules can
// delete or lock backup objects behind the runbook's back. Every backup runbook calls
// checkBackupBucket() from its backup step (before first use and on each run) and refuses
// (exit 4) when a rule would remove objects it still needs or block the pruning it relies on.
import { read } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import type { Executor } from '../exec/types.ts';
import { parseServiceError } from './cli.ts';

/** `oci os object-lifecycle-policy get` items, as the CLI prints them (kebab-case, absent = null). */
export interface LifecycleRule {
  name: string;
  action: string;
  'is-enabled': boolean;
  target?: string | null;
  'time-amount': number;
  'time-unit': string;
  'object-name-filter'?: { 'inclusion-prefixes'?: string[] | null; 'inclusion-patterns'?: string[] | null; 'exclusion-patterns'?: string[] | null } | null;
}

/** `oci os retention-rule list` items; a null duration retains objects indefinitely. */
export interface RetentionRule {
  'display-name': string;
  id: string;
  duration?: { 'time-amount': number; 'time-unit': string } | null;
  'time-rule-locked'?: string | null;
}

export interface BackupNeeds {
  bucket: string;
  /** The object name prefix all of the runbook's objects share. */
  prefix: string;
  /** One example name per kind of object the runbook writes (e.g. a segment, a manifest). */
  objects: { kind: string; example: string }[];
  /** Objects up to this many days old may still be needed by a restore. */
  neededDays: number;
  /** The runbook deletes objects this many days old and older (its own pruning). */
  prunesAfterDays: number;
  /** How the operator changes those two (e.g. "BACKUP_RETENTION_DAYS"). */
  setting: string;
}

const days = (amount: number, unit: string) => (unit.toUpperCase() === 'YEARS' ? amount * 365 : amount);

/** OCI's object name filter glob: `*` any run of characters, `?` one, `[...]` a class. */
export function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(name);
}

function matches(rule: LifecycleRule, name: string): boolean {
  const f = rule['object-name-filter'];
  const prefixes = f?.['inclusion-prefixes'] ?? [];
  const patterns = f?.['inclusion-patterns'] ?? [];
  const included = (!prefixes.length && !patterns.length) || prefixes.some((p) => name.startsWith(p)) || patterns.some((p) => globMatch(p, name));
  return included && !(f?.['exclusion-patterns'] ?? []).some((p) => globMatch(p, name));
}

/** Every rule that endangers the backups, each as one sentence naming the rule and the fix. */
export function bucketProblems(lifecycle: readonly LifecycleRule[], retention: readonly RetentionRule[], n: BackupNeeds): string[] {
  const out: string[] = [];
  for (const r of lifecycle) {
    if (!r['is-enabled'] || (r.target ?? 'objects') !== 'objects') continue;
    const action = r.action.toUpperCase();
    if (action !== 'DELETE' && action !== 'ARCHIVE') continue;
    const hit = n.objects.filter((o) => matches(r, o.example)).map((o) => o.kind);
    const age = days(r['time-amount'], r['time-unit']);
    if (!hit.length || age > n.neededDays) continue;
    const why = action === 'DELETE' ? '' : ' (a restore cannot read an archived object until it is restored, which takes hours)';
    out.push(
      `lifecycle rule "${r.name}" ${action === 'DELETE' ? 'deletes' : 'archives'} ${hit.join(' and ')} after ${age} days, but a restore may need them for ${n.neededDays} days${why}: ` +
        `raise its time-amount above ${n.neededDays} days, or exclude this runbook's objects from it (exclusion pattern "${n.prefix}/*"), with oci os object-lifecycle-policy put --bucket-name ${n.bucket}`,
    );
  }
  for (const r of retention) {
    const d = r.duration ? days(r.duration['time-amount'], r.duration['time-unit']) : Infinity;
    if (d <= n.prunesAfterDays) continue;
    const locked = r['time-rule-locked'] ? ` (locked since ${r['time-rule-locked']}: it cannot be shortened or removed)` : '';
    out.push(
      `retention rule "${r['display-name']}" keeps every object ${r.duration ? `${d} days` : 'indefinitely'}${locked}, so the runbook's own pruning after ${n.prunesAfterDays} days would fail: ` +
        (r.duration ? `set ${n.setting} to at least ${d}, ` : '') +
        `use a bucket without retention rules for backups, or ${locked ? 'wait for the rule to lapse' : `remove the rule (oci os retention-rule delete --bucket-name ${n.bucket} --retention-rule-id ${r.id})`}`,
    );
  }
  return out;
}

export const lifecycleCmd = (bucket: string) => ['oci', 'os', 'object-lifecycle-policy', 'get', '--bucket-name', bucket];
export const retentionCmd = (bucket: string) => ['oci', 'os', 'retention-rule', 'list', '--bucket-name', bucket, '--all'];

export type BucketVerdict = { ok: true; reason: string } | { ok: false; missing: true; reason: string };

/**
 * Reads the bucket's rules on the host (through `wrap`, e.g. as the backup user with its OCI
 * config) and throws a precondition error naming every dangerous rule. A bucket that does not
 * exist yet is reported, not refused: the backup itself says so until it is created.
 */
export async function checkBackupBucket(exec: Executor, n: BackupNeeds, wrap: (argv: string[]) => string[] = (a) => a): Promise<BucketVerdict> {
  const ret = await exec.run(read(wrap(retentionCmd(n.bucket)), { okCodes: [0, 1], timeoutMs: 120_000 }));
  if (exec.dryRun && ret.exitCode === 0 && !ret.stdout.trim() && !ret.stderr.trim()) return { ok: true, reason: 'dry run' };
  const retErr = ret.exitCode === 0 ? null : parseServiceError(ret.stderr);
  if (retErr?.status === 404 && retErr.code === 'BucketNotFound') return { ok: false, missing: true, reason: `bucket ${n.bucket} does not exist yet (or this host may not read it): backups fail until it does` };
  if (ret.exitCode !== 0) throw new RunbookError('stepFailed', `oci os retention-rule list --bucket-name ${n.bucket}: ${retErr ? `${retErr.status} ${retErr.code}: ${retErr.message}` : ret.stderr.trim()}`, { host: exec.host, hint: 'check the OCI CLI and the host\'s permission to inspect the bucket ("read buckets" in its policy)' });
  const lc = await exec.run(read(wrap(lifecycleCmd(n.bucket)), { okCodes: [0, 1], timeoutMs: 120_000 }));
  const lcErr = lc.exitCode === 0 ? null : parseServiceError(lc.stderr);
  // No policy on the bucket: the service answers 404 for the policy (the bucket exists, see above).
  if (lc.exitCode !== 0 && lcErr?.status !== 404) throw new RunbookError('stepFailed', `oci os object-lifecycle-policy get --bucket-name ${n.bucket}: ${lcErr ? `${lcErr.status} ${lcErr.code}: ${lcErr.message}` : lc.stderr.trim()}`, { host: exec.host });
  const lifecycle = lc.exitCode === 0 ? ((JSON.parse(lc.stdout || '{}') as { data?: { items?: LifecycleRule[] | null } }).data?.items ?? []) : [];
  const retention = (JSON.parse(ret.stdout || '{}') as { data?: { items?: RetentionRule[] | null } }).data?.items ?? [];
  const problems = bucketProblems(lifecycle, retention, n);
  if (problems.length) {
    throw new RunbookError('precondition', `bucket ${n.bucket} has ${problems.length === 1 ? 'a rule' : 'rules'} that would break its backups:\n  - ${problems.join('\n  - ')}`, { host: exec.host, hint: 'fix the bucket (or point the runbook at another), then run it again' });
  }
  return { ok: true, reason: `${lifecycle.length} lifecycle and ${retention.length} retention rules, none in the way` };
}
