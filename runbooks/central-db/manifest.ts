import { RunbookError } from '../../lib/core/errors.ts';

// The MANIFEST backup.sh writes beside each backup: `# ...` comment lines, then one line per file,
// `<sha256> <bytes> <name>`. A restore checks every file against it before it touches anything.

export interface ManifestEntry {
  sha256: string;
  size: number;
  name: string;
}

const NAME = /^(globals\.sql|redis\.rdb|db-[a-z_][a-z0-9_]{0,62}\.dump)$/;

export function parseManifest(text: string, where = 'MANIFEST'): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([0-9a-f]{64}) (\d+) (\S+)$/.exec(line);
    if (!m || !NAME.test(m[3] as string)) throw new RunbookError('precondition', `${where}:${i + 1} is not "<sha256> <bytes> <file>" for a backup file: ${JSON.stringify(line.slice(0, 120))}`, { hint: 'choose another backup with RESTORE_FROM' });
    out.push({ sha256: m[1] as string, size: Number(m[2]), name: m[3] as string });
  });
  if (!out.some((e) => e.name === 'globals.sql')) throw new RunbookError('precondition', `${where} lists no globals.sql: not a complete backup`, { hint: 'choose another backup with RESTORE_FROM' });
  return out;
}

/**
 * What is wrong with the downloaded files, given `sha256sum` output and `stat -c '%s %n'`
 * output for them (empty: every file is there with its size and hash).
 */
export function verifyFiles(entries: ManifestEntry[], sha256sumOut: string, sizesOut: string): string[] {
  const sums = new Map<string, string>();
  for (const l of sha256sumOut.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l.trim());
    if (m) sums.set((m[2] as string).split('/').pop() as string, m[1] as string);
  }
  const sizes = new Map<string, number>();
  for (const l of sizesOut.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(l.trim());
    if (m) sizes.set((m[2] as string).split('/').pop() as string, Number(m[1]));
  }
  const problems: string[] = [];
  for (const e of entries) {
    if (!sums.has(e.name)) problems.push(`${e.name} is missing`);
    else if (sizes.get(e.name) !== e.size) problems.push(`${e.name} is ${sizes.get(e.name)} bytes, the manifest says ${e.size}`);
    else if (sums.get(e.name) !== e.sha256) problems.push(`${e.name} has SHA-256 ${sums.get(e.name)?.slice(0, 12)}..., the manifest says ${e.sha256.slice(0, 12)}...`);
  }
  return problems;
}

/** The backup stamps that have a MANIFEST (complete uploads), newest first, from object names. */
export function completeStamps(objectNames: string[], prefix: string): string[] {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(\\d{8}T\\d{6}Z)/MANIFEST$`);
  return objectNames.flatMap((n) => re.exec(n)?.[1] ?? []).sort().reverse();
}
