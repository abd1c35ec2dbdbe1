import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineConfig, exampleEnv, loadConfig, str } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { addressIn } from '../../lib/engine/system.ts';
import type { Runbook } from '../../lib/engine/types.ts';
import type { RunCommandOptions } from '../../lib/cli/run.ts';
import { parseRoleTargets, runSystem, type SystemRunOptions } from '../../lib/cli/system-run.ts';
import { system as familycart } from '../../runbooks/familycart/system.ts';
import { stateful, app } from '../../runbooks/familycart/index.ts';
import { runbook as baseHost } from '../../runbooks/base-host/index.ts';
import { ScriptedExecutor } from './fakes.ts';

const IP_OUT = (ip: string) => `3: eth1    inet ${ip}/24 brd 10.0.1.255 scope global eth1\\       valid_lft forever preferred_lft forever\n`;
const HOSTS: Record<string, string> = { 'ssh://ops@db': '10.0.1.10', 'ssh://ops@web': '10.0.1.20' };

function envFile(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'system-'));
  const f = join(dir, 'fc.env');
  writeFileSync(f, `${lines.join('\n')}\n`);
  chmodSync(f, 0o600);
  return f;
}

/** Every variable of the system's runbooks from its example, plus the system's own. */
function systemEnv(extra: string[] = []): string {
  const vars = { ...baseHost.config.vars, ...stateful.config.vars, ...app.config.vars };
  const learned = new Set(['PRIVATE_IP', 'APP_CIDRS', 'STATEFUL_PRIVATE_IP']);
  const text = exampleEnv({ vars: Object.fromEntries(Object.entries(vars).filter(([k]) => !learned.has(k))), build: () => ({}) });
  return envFile([text, 'PRIVATE_SUBNET=10.0.1.0/24', ...extra]);
}

function world(failAt?: string) {
  const runs: { runbook: string; target: string; config: unknown }[] = [];
  const out: string[] = [];
  const asked: string[][] = [];
  const deps = {
    loadRunbook: async (name: string): Promise<Runbook<any>> => ({ 'base-host': baseHost, 'familycart.stateful': stateful, 'familycart.app': app })[name] as Runbook<any>,
    executorFor: (target: string) => {
      const e = new ScriptedExecutor((cmd) => {
        asked.push([target, ...cmd.argv]);
        return { stdout: cmd.argv[0] === 'ip' && HOSTS[target] ? IP_OUT(HOSTS[target]) : '' };
      });
      return Object.assign(e, { host: target });
    },
    runRunbook: async (rb: Runbook<any>, o: RunCommandOptions) => {
      // What the real run does first: the runbook's config from the env files and the learned values.
      const config = loadConfig(rb.config, o.envFiles, { learned: o.learned, known: o.known });
      runs.push({ runbook: rb.name, target: o.target, config });
      return `${o.target}/${rb.name}` === failAt ? 1 : 0;
    },
    out: (l: string) => void out.push(l),
  };
  return { runs, out, asked, deps };
}

const opts = (envFiles: string[], o: Partial<SystemRunOptions> = {}): SystemRunOptions => ({ target: 'stateful=ssh://ops@db,app=ssh://ops@web', envFiles, dryRun: false, yes: false, only: [], json: false, quiet: false, ...o });

describe('a system on several hosts', () => {
  it('learns each host\'s private address first, then runs each role\'s runbooks in order with the wired values', async () => {
    const w = world();
    expect(await runSystem(familycart, opts([systemEnv()]), w.deps)).toBe(0);
    expect(w.runs.map((r) => `${r.target} ${r.runbook}`)).toEqual(['ssh://ops@db base-host', 'ssh://ops@db familycart.stateful', 'ssh://ops@web base-host', 'ssh://ops@web familycart.app']);
    const st = w.runs[1]?.config as { privateIp: string; appCidrs: string[] };
    expect([st.privateIp, st.appCidrs]).toEqual(['10.0.1.10', ['10.0.1.20/32']]);
    expect((w.runs[3]?.config as { statefulIp: string }).statefulIp).toBe('10.0.1.10');
    // The facts are read-only questions, asked before any runbook ran.
    expect(w.asked).toEqual([['ssh://ops@db', 'ip', '-o', '-4', 'addr', 'show', 'to', '10.0.1.0/24'], ['ssh://ops@web', 'ip', '-o', '-4', 'addr', 'show', 'to', '10.0.1.0/24']]);
    expect(w.out[0]).toBe('familycart: stateful (ssh://ops@db): privateIp=10.0.1.10');
  });

  it('stops at the first failing runbook and prints the command that resumes there; --from resumes', async () => {
    const env = systemEnv();
    const w = world('ssh://ops@web/familycart.app');
    expect(await runSystem(familycart, opts([env]), w.deps)).toBe(1);
    expect(w.out.at(-1)).toBe(`familycart: stopped at app/familycart.app (exit 1); the hosts before it are done. After fixing it, resume with:\n  runbook run familycart --target stateful=ssh://ops@db,app=ssh://ops@web --env ${env} --from app/familycart.app`);
    const again = world();
    expect(await runSystem(familycart, opts([env], { from: 'app/familycart.app' }), again.deps)).toBe(0);
    expect(again.runs.map((r) => r.runbook)).toEqual(['familycart.app']);
    const role = world();
    await runSystem(familycart, opts([env], { from: 'app' }), role.deps);
    expect(role.runs.map((r) => `${r.target} ${r.runbook}`)).toEqual(['ssh://ops@web base-host', 'ssh://ops@web familycart.app']);
  });

  it('refuses an env file whose value disagrees with what the hosts say, before anything runs', async () => {
    const w = world();
    const err = await runSystem(familycart, opts([systemEnv(['STATEFUL_PRIVATE_IP=10.0.1.99'])]), w.deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).message).toMatch(/STATEFUL_PRIVATE_IP=10\.0\.1\.99, but learned from familycart's hosts says 10\.0\.1\.10/);
    expect(w.runs.map((r) => r.runbook)).toEqual(['base-host', 'familycart.stateful', 'base-host']);
  });

  it('a host with no (or several) addresses in the subnet stops the run before any runbook, naming the host', async () => {
    const w = world();
    const err = await runSystem(familycart, opts([systemEnv()], { target: 'stateful=ssh://ops@db,app=ssh://ops@elsewhere' }), w.deps).catch((e: unknown) => e);
    expect((err as RunbookError).message).toBe('ssh://ops@elsewhere has no address in PRIVATE_SUBNET 10.0.1.0/24; it needs exactly one');
    expect((err as RunbookError).host).toBe('ssh://ops@elsewhere');
    expect(w.runs).toEqual([]);
    expect(addressIn(`${IP_OUT('10.0.1.5')}${IP_OUT('10.0.1.6')}`)).toEqual(['10.0.1.5', '10.0.1.6']);
  });

  it('an unknown variable is still refused: one env file serves the system\'s runbooks, not anything', async () => {
    const w = world();
    const err = await runSystem(familycart, opts([systemEnv(['POSTGRES_PASWORD=x'])]), w.deps).catch((e: unknown) => e);
    expect((err as RunbookError).message).toMatch(/unknown variable POSTGRES_PASWORD/);
  });

  it('--target must name a host for every role and nothing else', () => {
    const bad = (t: string) => {
      try {
        parseRoleTargets(t, familycart);
      } catch (e) {
        return (e as RunbookError).message;
      }
      return 'accepted';
    };
    expect(bad('stateful=ssh://a@b')).toBe('familycart needs a host for every role; missing: app');
    expect(bad('stateful=ssh://a@b,app=ssh://c@d,web=ssh://e@f')).toBe('familycart has no role "web" (its roles: stateful, app)');
    expect(bad('ssh://a@b')).toMatch(/--target needs ROLE=TARGET for each/);
    expect(bad('stateful=vm,app=ssh://c@d')).toMatch(/throwaway VMs do not share/);
    expect(bad('stateful=ssh://a@b,stateful=ssh://a@c,app=local')).toBe('role stateful is given twice in --target');
    expect([...parseRoleTargets('stateful=ssh://a@b:2222,app=local', familycart)]).toEqual([['stateful', 'ssh://a@b:2222'], ['app', 'local']]);
  });
});

describe('learned values in a runbook\'s config', () => {
  const schema = defineConfig({ A: { description: 'a', example: '1' }, B: { description: 'b', example: '2' } }, (v) => ({ a: str(v, 'A'), b: str(v, 'B') }));
  it('fill what the env file leaves unset; the same value is fine; known variables of sibling runbooks pass', () => {
    const f = envFile(['A=1', 'C=sibling']);
    expect(loadConfig(schema, [f], { learned: { B: { value: '9', from: 'host' } }, known: new Set(['C']) })).toEqual({ a: '1', b: '9' });
    expect(loadConfig(schema, [f], { learned: { A: { value: '1', from: 'host' }, B: { value: '9', from: 'host' } }, known: new Set(['C']) })).toEqual({ a: '1', b: '9' });
    expect(() => loadConfig(schema, [f], { learned: { B: { value: '9', from: 'host' } } })).toThrow(/unknown variable C/);
  });
});

describe('a runbook of a system run on its own', () => {
  it('knows every variable of its system (the one env file serves it); a runbook of no system knows only its own', async () => {
    const { systemKnown } = await import('../../lib/cli/system-cli.ts');
    const known = await systemKnown('familycart.backup');
    for (const k of ['SECRET_KEY', 'ADMIN_USER', 'PRIVATE_SUBNET', 'CF_IPS_URL', 'PUBLIC_URL', 'BACKUP_BUCKET']) expect(known?.has(k), k).toBe(true);
    expect(known?.has('SECRET_KEYS')).toBe(false);
    expect(await systemKnown('eventfold-db')).toBeUndefined();
    expect(await systemKnown('familycartx.backup')).toBeUndefined();
  });
});
