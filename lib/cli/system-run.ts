import { readEnvFile } from '../config/env-file.ts';
import { EXIT, RunbookError, asRunbookError } from '../core/errors.ts';
import type { Runbook } from '../engine/types.ts';
import type { System } from '../engine/system.ts';
import type { Executor } from '../exec/types.ts';
import type { RunCommandOptions } from './run.ts';

export interface SystemRunOptions extends Omit<RunCommandOptions, 'target' | 'learned' | 'known'> {
  /** `ROLE=TARGET[,ROLE=TARGET...]`, one target for every role. */
  target: string;
}

export interface SystemDeps {
  loadRunbook(name: string): Promise<Runbook<any>>;
  executorFor(target: string, o: { sshConfig?: string }): Executor;
  runRunbook(rb: Runbook<any>, o: RunCommandOptions): Promise<number>;
  out(line: string): void;
}

/** `stateful=ssh://a,app=ssh://b` -> a target per role; every role needs one, no other role may appear. */
export function parseRoleTargets(spec: string, sys: System): Map<string, string> {
  const roles = sys.roles.map((r) => r.role);
  const example = roles.map((r) => `${r}=ssh://user@${r}-host`).join(',');
  const out = new Map<string, string>();
  for (const part of spec.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const role = part.slice(0, eq);
    const target = part.slice(eq + 1);
    if (eq < 1 || !target) throw new RunbookError('usage', `${sys.name} runs on ${roles.length} hosts: --target needs ROLE=TARGET for each, got "${part}"`, { hint: `--target ${example}` });
    if (!roles.includes(role)) throw new RunbookError('usage', `${sys.name} has no role "${role}" (its roles: ${roles.join(', ')})`, { hint: `--target ${example}` });
    if (out.has(role)) throw new RunbookError('usage', `role ${role} is given twice in --target`, { hint: `--target ${example}` });
    // Throwaway VMs share no private link, and the system's hosts must reach each other over one.
    if (target === 'vm' || target.startsWith('vm:')) throw new RunbookError('usage', `${sys.name}'s hosts talk over a private network, which throwaway VMs do not share: give role ${role} an ssh:// target`, { hint: `--target ${example}` });
    if (target !== 'local' && !target.startsWith('ssh://')) throw new RunbookError('usage', `role ${role}: unknown target "${target}"`, { hint: `--target ${example}` });
    out.set(role, target);
  }
  const missing = roles.filter((r) => !out.has(r));
  if (missing.length) throw new RunbookError('usage', `${sys.name} needs a host for every role; missing: ${missing.join(', ')}`, { hint: `--target ${example}` });
  return out;
}

/** Where a system run starts: `ROLE` or `ROLE/RUNBOOK`; the index into the flat plan. */
function startIndex(plan: { role: string; runbook: string }[], from: string | undefined, sys: System): number {
  if (!from) return 0;
  const [role, runbook] = from.split('/');
  const i = plan.findIndex((p) => p.role === role && (!runbook || p.runbook === runbook));
  if (i < 0) throw new RunbookError('usage', `--from ${from} names no part of ${sys.name}'s plan (${plan.map((p) => `${p.role}/${p.runbook}`).join(', ')})`, { hint: `runbook show ${sys.name}` });
  return i;
}

/**
 * `runbook run SYSTEM --target role=...,role=...`: the facts of every host first (read-only),
 * then each role's runbooks on its host in order, each with the learned variables; stops at the
 * first failure and prints the command that resumes there.
 */
export async function runSystem(sys: System, o: SystemRunOptions, deps: SystemDeps): Promise<number> {
  if (o.only.length) throw new RunbookError('usage', `--only picks steps of one runbook; run that runbook on its host instead (runbook show ${sys.name} lists them)`, { hint: `runbook run RUNBOOK --target ssh://...` });
  const targets = parseRoleTargets(o.target, sys);
  const plan = sys.roles.flatMap((r) => r.runbooks.map((runbook) => ({ role: r.role, runbook })));
  const start = startIndex(plan, o.from, sys);
  const runbooks = new Map<string, Runbook<any>>();
  for (const p of plan) if (!runbooks.has(p.runbook)) runbooks.set(p.runbook, await deps.loadRunbook(p.runbook));
  const known = new Set([...Object.keys(sys.vars), ...[...runbooks.values()].flatMap((rb) => Object.keys(rb.config.vars))]);

  const env: Record<string, string> = {};
  for (const f of o.envFiles) for (const [k, e] of readEnvFile(f)) env[k] = e.value;
  const missing = Object.entries(sys.vars).filter(([k, s]) => !env[k] && s.default === undefined && !s.optional).map(([k]) => k);
  if (missing.length) throw new RunbookError('config', `${o.envFiles.join(', ') || '(no env file)'}: ${missing.map((k) => `${k} is required (${sys.vars[k]?.description}; e.g. ${sys.vars[k]?.example})`).join('\n  ')}`, { hint: `runbook show ${sys.name} --env-example` });
  for (const [k, s] of Object.entries(sys.vars)) {
    env[k] ??= s.default ?? '';
    const bad = env[k] ? s.check?.(env[k]) : null;
    if (bad) throw new RunbookError('config', `${k} ${bad}`, { hint: `edit ${o.envFiles[0] ?? 'the env file'} and re-run` });
  }

  const facts: Record<string, Record<string, string>> = {};
  for (const r of sys.roles) {
    const target = targets.get(r.role) as string;
    const exec = deps.executorFor(target, { sshConfig: o.sshConfig });
    try {
      facts[r.role] = await sys.facts(r.role, exec, env);
    } catch (err) {
      throw asRunbookError(err, exec.host);
    } finally {
      await exec.close();
    }
    if (!o.quiet) deps.out(`${sys.name}: ${r.role} (${target}): ${Object.entries(facts[r.role] ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  const wired = sys.wire(facts);

  for (const [i, p] of plan.entries()) {
    if (i < start) continue;
    const target = targets.get(p.role) as string;
    const learned = Object.fromEntries(Object.entries(wired[p.role] ?? {}).map(([k, value]) => [k, { value, from: `learned from ${sys.name}'s hosts` }]));
    if (!o.quiet) deps.out(`\n== ${sys.name} ${i + 1}/${plan.length}: ${p.runbook} on ${p.role} (${target})`);
    const code = await deps.runRunbook(runbooks.get(p.runbook) as Runbook<any>, { ...o, target, from: undefined, learned, known });
    if (code !== EXIT.ok) {
      const resume = [`runbook run ${sys.name} --target ${o.target}`, ...o.envFiles.map((f) => `--env ${f}`), `--from ${p.role}/${p.runbook}`].join(' ');
      deps.out(`${sys.name}: stopped at ${p.role}/${p.runbook} (exit ${code}); the hosts before it are done. After fixing it, resume with:\n  ${resume}`);
      return code;
    }
  }
  return EXIT.ok;
}
