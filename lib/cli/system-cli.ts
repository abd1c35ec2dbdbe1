import { type VarSpec, exampleEnv } from '../config/schema.ts';
import type { System } from '../engine/system.ts';
import type { Runbook } from '../engine/types.ts';
import { RUNBOOKS, SYSTEMS, findRunbook } from './registry.ts';
import { runCommand } from './run.ts';
import { type SystemRunOptions, runSystem as run } from './system-run.ts';
import { executorFor } from './targets.ts';

async function load(name: string): Promise<Runbook<any>> {
  const e = findRunbook(name);
  if (!e) throw new Error(`system names an unknown runbook ${name}`);
  return e.load();
}

export function runSystem(sys: System, o: SystemRunOptions): Promise<number> {
  return run(sys, o, { loadRunbook: load, executorFor, runRunbook: runCommand, out: (line) => void process.stdout.write(`${line}\n`) });
}

/** Every variable the system's runbooks take, once each (learned ones marked), for one env file. */
async function allVars(sys: System): Promise<{ vars: Record<string, VarSpec>; learned: Set<string> }> {
  const vars: Record<string, VarSpec> = { ...sys.vars };
  for (const r of sys.roles) for (const name of r.runbooks) Object.assign(vars, { ...(await load(name)).config.vars, ...vars });
  // Which variables are learned: wire() over placeholder facts (any fact of any role).
  const anyFacts = new Proxy({}, { get: () => new Proxy({}, { get: () => '0.0.0.0' }) }) as Record<string, Record<string, string>>;
  const learned = new Set(Object.values(sys.wire(anyFacts)).flatMap((w) => Object.keys(w)));
  return { vars, learned };
}

/**
 * For a runbook of a system run on its own (`runbook run familycart.backup --target ...`): every
 * variable of that system (its roles' runbooks, its own runbooks, its vars), so the one env file of
 * the system serves it too. Undefined for a runbook of no system: then only its own are known.
 */
export async function systemKnown(runbook: string): Promise<Set<string> | undefined> {
  const entry = SYSTEMS.find((s) => runbook.startsWith(`${s.name}.`));
  if (!entry) return undefined;
  const sys = await entry.load();
  const { vars } = await allVars(sys);
  const known = new Set(Object.keys(vars));
  for (const e of RUNBOOKS.filter((r) => r.name.startsWith(`${sys.name}.`))) for (const k of Object.keys((await e.load()).config.vars)) known.add(k);
  return known;
}

/** One env file for the whole system; the learned variables are left out (the hosts give them). */
export async function exampleSystemEnv(sys: System): Promise<string> {
  const { vars, learned } = await allVars(sys);
  return exampleEnv({ vars: Object.fromEntries(Object.entries(vars).filter(([k]) => !learned.has(k))), build: () => ({}) });
}

export async function describeSystem(sys: System): Promise<string> {
  const { learned } = await allVars(sys);
  const out = [`# ${sys.title}`, '', sys.summary, ''];
  if (sys.seed) out.push(`Mirrors the seed document \`${sys.seed}\`.`, '');
  out.push('## Hosts and order', '', `\`runbook run ${sys.name} --target ${sys.roles.map((r) => `${r.role}=ssh://user@host`).join(',')} --env FILE\``, '');
  sys.roles.forEach((r, i) => out.push(`${i + 1}. **${r.role}**: ${r.doc}. Runs ${r.runbooks.map((n) => `\`${n}\``).join(', then ')}.`));
  out.push('', '## Learned from the hosts', '', `Before anything runs, each host is asked (read-only, also in a dry run) for what the others need; these variables come from there, and an env file that sets one to something else is refused: ${[...learned].map((k) => `\`${k}\``).join(', ')}.`);
  out.push('', '## Its own variables', '');
  for (const [k, v] of Object.entries(sys.vars)) out.push(`- \`${k}\`: ${v.description} (e.g. \`${v.example}\`)`);
  out.push('', `\`runbook show ${sys.name} --env-example\` prints one env file for all its runbooks; \`--from ROLE[/RUNBOOK]\` resumes after a failure.`, '');
  return out.join('\n');
}
