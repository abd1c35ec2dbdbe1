// Drives the bundled `runbook` CLI the way an operator does, and reads its --json events.
import { execa } from 'execa';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineEvent } from '../../lib/engine/types.ts';
import type { Vm } from '../../lib/vm/vm.ts';

export const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  events: EngineEvent[];
  of<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[];
}

export async function runbook(args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  // Every run's events and remote commands kept under test/.tmp/runs, for `npm run step-times`
  // (where VM time goes).
  const dir = join(ROOT, 'test/.tmp/runs');
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, `${new Date().toISOString().replace(/[:.]/g, '')}-${args[0] ?? ''}-${args[1] ?? ''}`);
  const env = { RUNBOOK_CMD_TRACE: `${stem}.cmds`, ...o.env };
  const r = await execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), ...args], { reject: false, input: '', timeout: o.timeoutMs ?? 15 * 60_000, env, cwd: ROOT });
  const jsonLines = String(r.stdout).split('\n').filter((l) => l.startsWith('{'));
  const events = jsonLines.map((l) => JSON.parse(l) as EngineEvent);
  if (jsonLines.length) writeFileSync(`${stem}.jsonl`, `${jsonLines.join('\n')}\n`);
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    events,
    of: <T extends EngineEvent['type']>(type: T) => events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type),
  };
}

/** `run NAME` against a VM over SSH, with --json. */
export function runOn(vm: Vm, name: string, envFile: string, extra: string[] = [], user?: string, env?: Record<string, string>): Promise<CliRun> {
  return runbook(['run', name, '--target', vm.target(user), '--ssh-config', vm.sshConfigPath, '--env', envFile, '--json', ...extra], { env });
}

export function envFile(values: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-env-'));
  const p = join(dir, 'runbook.env');
  writeFileSync(p, Object.entries(values).map(([k, v]) => `${k}="${v}"\n`).join(''));
  chmodSync(p, 0o600);
  return p;
}

/** A copy of the project's assets with one file replaced, for broken-asset scenarios. */
export function brokenAssets(rel: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-assets-'));
  for (const d of ['nftables', 'systemd', 'cloud-init', 'compose', 'runbooks']) if (existsSync(join(ROOT, d))) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  writeFileSync(join(dir, rel), content);
  return dir;
}

/** What a failed run printed, for assertion messages. */
export const explain = (r: CliRun) => `exit ${r.exitCode}\n${r.stderr}\n${r.stdout.split('\n').slice(-15).join('\n')}`;
