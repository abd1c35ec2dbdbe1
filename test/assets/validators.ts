import { execa } from 'execa';
import { cpSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Verdict {
  ok: boolean;
  output: string;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'asset-'));

async function tool(file: string, args: string[], opts: { failOnStderr?: boolean; cwd?: string } = {}): Promise<Verdict> {
  const r = await execa(file, args, { reject: false, timeout: 60_000, cwd: opts.cwd });
  const output = `${r.stdout}\n${r.stderr}`.trim();
  return { ok: r.exitCode === 0 && !(opts.failOnStderr && String(r.stderr).trim() !== ''), output };
}

/** nft's own parser, in a user and network namespace of its own so the host's rules are never touched. */
export function nftables(content: string): Promise<Verdict> {
  const f = join(tmp(), 'rules.nft');
  writeFileSync(f, content);
  return tool('unshare', ['-rn', 'nft', '-c', '-f', f]);
}

const fetchCloudInit = fileURLToPath(new URL('../../scripts/fetch-cloud-init.ts', import.meta.url));
let cloudInitRoot: Promise<string> | undefined;

/**
 * cloud-init's schema check of a rendered user-data, from Debian 13's cloud-init unpacked into
 * the cache by scripts/fetch-cloud-init.ts (never installed here: it would run at the next boot).
 */
export async function cloudInit(content: string): Promise<Verdict> {
  cloudInitRoot ??= execa('node', ['--import', 'tsx', fetchCloudInit], { timeout: 600_000 }).then((r) => r.stdout.trim().split('\n').at(-1) ?? '');
  const root = await cloudInitRoot;
  const f = join(tmp(), 'user-data');
  writeFileSync(f, content);
  const r = await execa('/usr/bin/python3', [join(root, 'usr/bin/cloud-init'), 'schema', '--config-file', f], { reject: false, timeout: 120_000, env: { PYTHONPATH: join(root, 'usr/lib/python3/dist-packages') } });
  return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}`.trim() };
}

/**
 * `systemd-analyze verify` inside a scratch root where each ExecStart binary exists, failing on
 * any warning (it exits 0 on most of them).
 */
export async function systemdUnit(name: string, content: string, o: { units?: Record<string, string> } = {}): Promise<Verdict> {
  const root = tmp();
  const dir = join(root, 'etc/systemd/system');
  mkdirSync(dir, { recursive: true });
  // Units of packages the build host lacks (docker.service) that the unit requires.
  for (const [n, c] of Object.entries(o.units ?? {})) writeFileSync(join(dir, n), c);
  // The host's own units give the scratch root its targets (sysinit.target and friends).
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  for (const m of [content, ...Object.values(o.units ?? {})].join('\n').matchAll(/^Exec\w+=[-@:+!]*(\/\S+)/gm)) {
    const bin = m[1] as string;
    mkdirSync(join(root, bin, '..'), { recursive: true });
    writeFileSync(join(root, bin), '#!/bin/sh\n', { mode: 0o755 });
  }
  const f = join(dir, basename(name));
  writeFileSync(f, content);
  return tool('systemd-analyze', ['verify', '--man=no', `--root=${root}`, f], { failOnStderr: true });
}

/** The exposure score `systemd-analyze security --offline` gives a unit (lower is better). */
export async function systemdExposure(name: string, content: string): Promise<{ score: number; output: string }> {
  const f = join(tmp(), basename(name));
  writeFileSync(f, content);
  const r = await execa('systemd-analyze', ['security', '--offline=yes', '--no-pager', f], { reject: false });
  const m = /Overall exposure level for .*?: (\d+(?:\.\d+)?)/.exec(`${r.stdout}`);
  return { score: m ? Number(m[1]) : Number.NaN, output: String(r.stdout).split('\n').slice(-3).join('\n') };
}

const fetchCompose = fileURLToPath(new URL('../../scripts/fetch-compose.ts', import.meta.url));
let composeBin: Promise<string> | undefined;

/**
 * The Compose v2 binary scripts/fetch-compose.ts keeps in the cache (Debian 12's 1.29 rejects the
 * spec's top-level `name:`). Asked once per process: instant once cached, a download otherwise.
 */
export function composeBinary(): Promise<string> {
  composeBin ??= execa('node', ['--import', 'tsx', fetchCompose], { timeout: 600_000 }).then((r) => {
    const bin = r.stdout.trim().split('\n').at(-1) ?? '';
    if (!bin.startsWith('/')) throw new Error(`${fetchCompose} printed no binary path: ${r.stdout}`);
    return bin;
  });
  return composeBin;
}

/**
 * `compose config -q` (with the env file it runs with): the Compose Specification's schema,
 * interpolation and references, no daemon. `files` are written beside the compose file (the
 * env_file references that must exist).
 */
export async function compose(content: string, envFile?: string, files: Record<string, string> = {}): Promise<Verdict> {
  const dir = tmp();
  const f = join(dir, 'compose.yaml');
  writeFileSync(f, content);
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
  const env = envFile === undefined ? [] : ['--env-file', join(dir, 'run.env')];
  if (envFile !== undefined) writeFileSync(join(dir, 'run.env'), envFile);
  return tool(await composeBinary(), [...env, '-f', f, 'config', '-q'], { cwd: dir });
}

export function shell(path: string): Promise<Verdict> {
  return tool('shellcheck', ['-x', path]);
}
