import { createHash } from 'node:crypto';
import { read, write } from '../core/cmd.ts';
import type { Executor } from './types.ts';

export interface FileSpec {
  path: string;
  content: string;
  mode: string; // octal, e.g. "0644"
  owner?: string;
  group?: string;
  /** Contents are never shown in plans or logs. */
  secret?: boolean;
}

export const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Builders for the file commands every step uses; pure, tested on exact argv. */
export const fileCmds = {
  stat: (path: string) => read(['stat', '-c', '%a %U %G %s', '--', path], { okCodes: [0, 1] }),
  sha: (path: string) => read(['sha256sum', '--', path], { okCodes: [0, 1] }),
  cat: (path: string) => read(['cat', '--', path], { okCodes: [0, 1] }),
  // install writes a temp file beside the target, then mv replaces it atomically.
  install: (f: FileSpec) =>
    write(['install', '-D', '-m', f.mode, '-o', f.owner ?? 'root', '-g', f.group ?? f.owner ?? 'root', '/dev/stdin', `${f.path}.runbook-new`], {
      stdin: f.content,
      file: { path: f.path, secret: f.secret ?? false },
      summary: `write ${f.path} (${f.mode} ${f.owner ?? 'root'}:${f.group ?? f.owner ?? 'root'}, ${Buffer.byteLength(f.content)} bytes)`,
    }),
  rename: (f: FileSpec) => write(['mv', '-f', '--', `${f.path}.runbook-new`, f.path]),
};

export interface FileState {
  exists: boolean;
  sha?: string;
  mode?: string;
  owner?: string;
  group?: string;
}

export async function fileState(exec: Executor, path: string): Promise<FileState> {
  const st = await exec.run(fileCmds.stat(path));
  if (st.exitCode !== 0) return { exists: false };
  const [mode, owner, group] = st.stdout.trim().split(' ');
  const sh = await exec.run(fileCmds.sha(path));
  return { exists: true, sha: sh.stdout.split(' ')[0], mode: mode?.padStart(4, '0'), owner, group };
}

/** Why a file differs from its spec, or null when it is exactly right. */
export function fileDrift(spec: FileSpec, st: FileState): string | null {
  if (!st.exists) return `${spec.path} is missing`;
  if (st.sha !== sha256(spec.content)) return `${spec.path} content differs`;
  if (st.mode !== spec.mode.padStart(4, '0')) return `${spec.path} mode is ${st.mode}, want ${spec.mode}`;
  const owner = spec.owner ?? 'root';
  const group = spec.group ?? owner;
  if (st.owner !== owner || st.group !== group) return `${spec.path} owner is ${st.owner}:${st.group}, want ${owner}:${group}`;
  return null;
}

/** Writes a file only when it differs; returns the reason it changed, or null when it was right. */
export async function ensureFile(exec: Executor, spec: FileSpec): Promise<string | null> {
  const drift = fileDrift(spec, await fileState(exec, spec.path));
  if (drift === null) return null;
  await exec.run(fileCmds.install(spec));
  await exec.run(fileCmds.rename(spec));
  return drift;
}
