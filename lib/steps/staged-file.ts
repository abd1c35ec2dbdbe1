// A file one step prepares and a later step uses (a restored log, a fetched archive). The later
// step may run in another process (`--from STEP` after a failure), so nothing it relies on may
// live in memory: the step that verified the file writes a marker beside it with the file's
// SHA-256 and size, and the later step checks the file against it on the host, or refuses.
import { read } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { ensureFile } from '../exec/files.ts';
import type { Executor } from '../exec/types.ts';

export interface StagedMarker {
  sha256: string;
  size: number;
  /** Where the file came from (e.g. the backup manifest's object name). */
  source: string;
  /** Anything else the later step checks against (e.g. the events' digest). */
  facts: Record<string, string>;
  at: string;
}

export const markerPath = (file: string) => `${file}.verified.json`;

async function hashOnHost(exec: Executor, file: string): Promise<{ sha256: string; size: number } | null> {
  const sh = await exec.run(read(['sha256sum', '--', file], { okCodes: [0, 1], timeoutMs: 60 * 60_000 }));
  const st = await exec.run(read(['stat', '-c', '%s', '--', file], { okCodes: [0, 1] }));
  if (sh.exitCode !== 0 || st.exitCode !== 0) return null;
  return { sha256: sh.stdout.split(' ')[0] ?? '', size: Number(st.stdout.trim()) };
}

/** Records that `file`, as it is on the host now, was verified. */
export async function writeMarker(exec: Executor, file: string, source: string, facts: Record<string, string>): Promise<StagedMarker> {
  const h = await hashOnHost(exec, file);
  if (!h) throw new RunbookError('stepFailed', `${file} is gone right after it was verified`, { host: exec.host });
  const m: StagedMarker = { ...h, source, facts, at: new Date().toISOString() };
  await ensureFile(exec, { path: markerPath(file), content: `${JSON.stringify(m)}\n`, mode: '0600' });
  return m;
}

/**
 * The marker of a staged file that is still exactly what was verified; otherwise refuses
 * (precondition) naming the step that stages and verifies it again.
 */
export async function verifiedStaged(exec: Executor, file: string, stagedBy: string): Promise<StagedMarker> {
  const refuse = (why: string) => new RunbookError('precondition', `${why}; nothing was changed`, { host: exec.host, hint: `resume from the step that stages and verifies it: --from ${stagedBy}` });
  const raw = await exec.run(read(['cat', '--', markerPath(file)], { okCodes: [0, 1] }));
  let m: StagedMarker;
  try {
    m = JSON.parse(raw.stdout) as StagedMarker;
  } catch {
    throw refuse(`${file} has no verification marker (${markerPath(file)})`);
  }
  if (raw.exitCode !== 0 || typeof m.sha256 !== 'string' || typeof m.size !== 'number') throw refuse(`${file} has no verification marker (${markerPath(file)})`);
  const h = await hashOnHost(exec, file);
  if (!h) throw refuse(`${file} is missing`);
  if (h.size !== m.size || h.sha256 !== m.sha256) throw refuse(`${file} is not the file verified at ${m.at} (${h.size} B sha256 ${h.sha256.slice(0, 12)}, marker says ${m.size} B ${m.sha256.slice(0, 12)})`);
  return m;
}
