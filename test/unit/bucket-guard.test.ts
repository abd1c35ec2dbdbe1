// A backup bucket's lifecycle and retention rules are read (through the OCI stand-in, which
// answers as the real CLI does) and a rule that would delete needed backups, or block the
// runbook's own pruning, is refused with exit 4, naming the rule and the fix.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';

// Each case runs the stand-in several times (a node process each): slow on a busy machine.
const SLOW = 180_000;
import { RunbookError } from '../../lib/core/errors.ts';
import { LocalExecutor } from '../../lib/exec/local.ts';
import { type BackupNeeds, bucketProblems, checkBackupBucket, globMatch } from '../../lib/oci/bucket-guard.ts';
import { bucketNeeds } from '../../runbooks/eventfold-db/operations.ts';
import { eventfoldConfig } from '../../runbooks/eventfold-db/config.ts';
import { exampleValues } from '../../lib/config/schema.ts';

const STANDIN = new URL('../../dist/standins/oci.mjs', import.meta.url).pathname;
let root: string;
const oci = (args: string[]) => JSON.parse(execFileSync('node', [STANDIN, ...args], { env: { ...process.env, OCI_STANDIN_ROOT: root }, encoding: 'utf8' }) || 'null') as { data?: unknown; etag?: string } | null;
const wrap = (argv: string[]) => ['env', `OCI_STANDIN_ROOT=${root}`, 'node', STANDIN, ...argv.slice(1)];
const needs: BackupNeeds = eventfoldNeeds();
const check = () => checkBackupBucket(new LocalExecutor(), needs, wrap);
const lifecycle = (items: object[]) => oci(['os', 'object-lifecycle-policy', 'put', '--bucket-name', 'backups', '--items', JSON.stringify(items), '--force']);

function eventfoldNeeds(): BackupNeeds {
  const c = eventfoldConfig.build({ ...exampleValues(eventfoldConfig), BACKUP_BUCKET: 'backups', BACKUP_PREFIX: 'eventfold/prd016', BACKUP_RETENTION_DAYS: '14', BACKUP_FULL_EVERY_DAYS: '7' });
  return bucketNeeds(c);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'bucket-guard-'));
  oci(['os', 'bucket', 'create', '--name', 'backups', '--compartment-id', 'ocid1.compartment.oc1..test']);
}, SLOW);

describe('the OCI stand-in answers the two reads as the real CLI prints them', () => {
  it('lifecycle policy: 404 when there is none; after put, kebab-case items with every field and the etag beside data', () => {
    expect(() => oci(['os', 'object-lifecycle-policy', 'get', '--bucket-name', 'backups'])).toThrow(/LifecyclePolicyNotFound/);
    lifecycle([{ name: 'old', action: 'DELETE', isEnabled: true, target: 'objects', timeAmount: 30, timeUnit: 'DAYS' }]);
    const got = oci(['os', 'object-lifecycle-policy', 'get', '-bn', 'backups']);
    expect(got?.etag).toMatch(/\w/);
    expect((got?.data as { items: object[] }).items).toEqual([{ action: 'DELETE', 'is-enabled': true, name: 'old', 'object-name-filter': null, target: 'objects', 'time-amount': 30, 'time-unit': 'DAYS' }]);
  }, SLOW);

  it('retention rules: an empty collection still prints data.items; a rule has its duration, or null for indefinite', () => {
    expect(oci(['os', 'retention-rule', 'list', '--bucket-name', 'backups', '--all'])).toEqual({ data: { items: [] } });
    oci(['os', 'retention-rule', 'create', '--bucket-name', 'backups', '--display-name', 'hold', '--time-amount', '30', '--time-unit', 'DAYS']);
    const items = (oci(['os', 'retention-rule', 'list', '--bucket-name', 'backups'])?.data as { items: Record<string, unknown>[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ 'display-name': 'hold', duration: { 'time-amount': 30, 'time-unit': 'DAYS' }, 'time-rule-locked': null });
    expect(() => oci(['os', 'retention-rule', 'list', '--bucket-name', 'nope'])).toThrow(/BucketNotFound/);
  }, SLOW);
});

describe('checkBackupBucket', () => {
  it('passes a bucket with no rules, and one whose rules leave the backups alone', async () => {
    expect(await check()).toMatchObject({ ok: true });
    lifecycle([
      { name: 'abort-uploads', action: 'ABORT', isEnabled: true, target: 'multipart-uploads', timeAmount: 1, timeUnit: 'DAYS' },
      { name: 'logs-only', action: 'DELETE', isEnabled: true, target: 'objects', timeAmount: 3, timeUnit: 'DAYS', objectNameFilter: { inclusionPrefixes: ['logs/'] } },
      { name: 'not-ours', action: 'DELETE', isEnabled: true, target: 'objects', timeAmount: 3, timeUnit: 'DAYS', objectNameFilter: { exclusionPatterns: ['eventfold/*'] } },
      { name: 'disabled', action: 'DELETE', isEnabled: false, target: 'objects', timeAmount: 1, timeUnit: 'DAYS' },
      { name: 'a-year', action: 'DELETE', isEnabled: true, target: 'objects', timeAmount: 1, timeUnit: 'YEARS' },
    ]);
    oci(['os', 'retention-rule', 'create', '--bucket-name', 'backups', '--display-name', 'a-week', '--time-amount', '7', '--time-unit', 'DAYS']);
    expect(await check()).toMatchObject({ ok: true, reason: '5 lifecycle and 1 retention rules, none in the way' });
  }, SLOW);

  it('refuses (exit 4) a lifecycle rule that deletes backups a restore may need, naming it and the fix', async () => {
    lifecycle([{ name: 'expire-manifests', action: 'DELETE', isEnabled: true, target: 'objects', timeAmount: 10, timeUnit: 'DAYS', objectNameFilter: { inclusionPatterns: ['*.json'] } }]);
    const e = (await check().catch((x: unknown) => x)) as RunbookError;
    expect(e).toBeInstanceOf(RunbookError);
    expect(e.exitCode).toBe(4);
    expect(e.message).toMatch(/lifecycle rule "expire-manifests" deletes manifests after 10 days, but a restore may need them for 21 days/);
    expect(e.message).toMatch(/raise its time-amount above 21 days, or exclude .*"eventfold\/prd016\/\*".*object-lifecycle-policy put --bucket-name backups/);
  }, SLOW);

  it('refuses an archive rule on the prefix, and a retention rule that would make pruning fail', async () => {
    lifecycle([{ name: 'cold', action: 'ARCHIVE', isEnabled: true, target: 'objects', timeAmount: 2, timeUnit: 'DAYS', objectNameFilter: { inclusionPrefixes: ['eventfold/'] } }]);
    oci(['os', 'retention-rule', 'create', '--bucket-name', 'backups', '--display-name', 'legal-hold']);
    const e = (await check().catch((x: unknown) => x)) as RunbookError;
    expect(e.exitCode).toBe(4);
    expect(e.message).toMatch(/lifecycle rule "cold" archives segments and manifests after 2 days/);
    expect(e.message).toMatch(/retention rule "legal-hold" keeps every object indefinitely, so the runbook's own pruning after 14 days would fail/);
    expect(e.message).toMatch(/oci os retention-rule delete --bucket-name backups --retention-rule-id /);
  }, SLOW);

  it('reports a bucket that does not exist yet instead of refusing', async () => {
    const r = await checkBackupBucket(new LocalExecutor(), { ...needs, bucket: 'later' }, wrap);
    expect(r).toMatchObject({ ok: false, missing: true });
    expect(r.reason).toMatch(/bucket later does not exist yet/);
  }, SLOW);
});

describe('bucketProblems', () => {
  it('counts years as 365 days and a longer retention rule against BACKUP_RETENTION_DAYS', () => {
    const p = bucketProblems([], [{ 'display-name': 'month', id: 'r1', duration: { 'time-amount': 30, 'time-unit': 'DAYS' } }], needs);
    expect(p).toEqual([expect.stringMatching(/keeps every object 30 days.*set BACKUP_RETENTION_DAYS to at least 30/)]);
    expect(bucketProblems([{ name: 'y', action: 'DELETE', 'is-enabled': true, target: 'objects', 'time-amount': 1, 'time-unit': 'YEARS' }], [], needs)).toEqual([]);
  });
  it('globs as OCI does: * and ? over the whole name', () => {
    expect(globMatch('eventfold/*', 'eventfold/prd016/c/segments/1.seg')).toBe(true);
    expect(globMatch('*.json', 'eventfold/prd016/c/manifests/1.json')).toBe(true);
    expect(globMatch('*.json', 'eventfold/prd016/c/segments/1.seg')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
  }, SLOW);
});
