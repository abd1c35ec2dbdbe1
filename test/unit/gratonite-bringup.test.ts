// The bring-up order with a scripted host: each gate passes only on what the host answers, a gate
// that does not pass stops the run with what it saw and the next command, and no later service is
// started. Commands are compared as data: nothing runs.
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../lib/core/cmd.ts';
import { exampleValues } from '../../lib/config/schema.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { EngineEvent, Runbook } from '../../lib/engine/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { bringUpSteps, imagesOf } from '../../runbooks/gratonite/bringup.ts';
import { type GratoniteConfig, gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { ScriptedExecutor } from './fakes.ts';

const config: GratoniteConfig = { ...gratoniteConfig.build(exampleValues(gratoniteConfig)), healthDeadlineSeconds: 1 };
const API = `${config.images.api}:${config.tag}`;
const WEB = `${config.images.web}:${config.tag}`;

interface Host {
  statefulHealthy: boolean;
  migrateExit: number;
  apiHealth: string;
  webStatus: string;
  files: Map<string, string>;
  running: Map<string, string>;
  /** Images on the host before the run (default: all of them). */
  present?: Set<string>;
}

/** A host that behaves like Docker as far as the gates look: `up` makes a service run, ps shows it. */
function host(h: Partial<Host> = {}): { exec: ScriptedExecutor; state: Host } {
  const s: Host = { statefulHealthy: true, migrateExit: 0, apiHealth: '{"status":"ok","service":"gratonite-api"}\n200', webStatus: '200', files: new Map(), running: new Map(), ...h };
  const answer = (cmd: Cmd) => {
    const a = cmd.argv;
    const sub = a.slice(a.indexOf('-f') + 2);
    if (a[0] === 'docker' && a[1] === 'image') return !s.present || s.present.has(a.at(-1) as string) ? { stdout: 'linux/arm64' } : { exitCode: 1, stderr: `Error: No such image: ${a.at(-1)}` };
    if (a[0] === 'docker' && a[1] === 'compose') {
      if (sub[0] === 'up' && sub.includes('--wait')) {
        if (s.statefulHealthy) for (const x of ['postgres', 'redis', 'minio']) s.running.set(x, 'healthy');
        else s.running.set('postgres', 'unhealthy');
        return { exitCode: s.statefulHealthy ? 0 : 1 };
      }
      if (sub[0] === 'up') {
        s.running.set(sub.at(-1) as string, 'running');
        return {};
      }
      if (sub[0] === 'pull') {
        for (const svc of sub.slice(2)) s.present?.add(svc === 'api' ? API : svc === 'web' ? WEB : `(image of ${svc})`);
        return {};
      }
      if (sub[0] === 'run' && sub.includes('migrate')) return { exitCode: s.migrateExit, stdout: s.migrateExit ? 'error: relation "users" already exists' : 'migrated 3' };
      if (sub[0] === 'ps') return { stdout: [...s.running].map(([svc, st]) => JSON.stringify({ Service: svc, State: st === 'unhealthy' ? 'running' : 'running', Health: st === 'running' ? '' : st, Image: svc === 'api' ? API : svc === 'web' ? WEB : svc })).join('\n') };
      return {};
    }
    if (a[0] === 'curl') return a.includes('http://127.0.0.1:4000/health') ? { stdout: s.apiHealth } : { stdout: s.webStatus };
    if (a[0] === 'cat') {
      const f = s.files.get(a.at(-1) as string);
      return f === undefined ? { exitCode: 1 } : { stdout: f };
    }
    if (a[0] === 'stat' || a[0] === 'sha256sum') return { exitCode: 1 };
    // ensureFile: install from stdin to PATH.runbook-new, then mv into place.
    if (a[0] === 'install' && a.includes('/dev/stdin')) {
      s.files.set(a.at(-1) as string, String(cmd.stdin ?? ''));
      return {};
    }
    if (a[0] === 'mv') {
      const [from, to] = a.slice(-2) as [string, string];
      s.files.set(to, s.files.get(from) ?? '');
      return {};
    }
    return {};
  };
  return { exec: new ScriptedExecutor(answer), state: s };
}

const HOST_GATES = ['gratonite.images', 'gratonite.stateful', 'gratonite.migrate', 'gratonite.api', 'gratonite.web', 'gratonite.voice'];
const rb: Runbook<GratoniteConfig> = { name: 'gratonite', title: 't', summary: 's', config: gratoniteConfig, steps: bringUpSteps };

async function bringUp(exec: ScriptedExecutor) {
  const rec = recorder();
  const res = await runSteps(rb, { exec, config, emit: rec.emit, only: HOST_GATES });
  const end = rec.events.find((e): e is Extract<EngineEvent, { type: 'run-end' }> => e.type === 'run-end');
  return { res, end, events: rec.events };
}
/** The compose subcommands the run issued, in order ("up --wait", "run migrate", "up api"...). */
const composeCalls = (exec: ScriptedExecutor) =>
  exec.calls.filter((c) => c.argv[1] === 'compose').map((c) => c.argv.slice(c.argv.indexOf('-f') + 2)).filter((x) => x[0] !== 'ps').map((x) => (x[0] === 'up' && x.includes('--wait') ? 'up stateful' : x[0] === 'up' ? `up ${x.at(-1)}` : x[0] === 'run' ? `run ${x.at(-1)}` : x[0] as string));

describe('gratonite bring-up order', () => {
  it('starts each service only after the gate before it passed, in the seed\'s order', async () => {
    const { exec } = host();
    const { res } = await bringUp(exec);
    expect(res.exitCode).toBe(0);
    expect(composeCalls(exec)).toEqual(['up stateful', 'run minio-init', 'run migrate', 'up api', 'up web']);
  });

  it('pulls only what the host lacks: a new tag pulls the API and web, not the stateful images', async () => {
    const { exec } = host({ present: new Set(imagesOf(config).filter((i) => i !== API && i !== WEB)) });
    const { res } = await bringUp(exec);
    expect(res.exitCode).toBe(0);
    const pulls = exec.calls.filter((c) => c.argv[1] === 'compose' && c.argv.includes('pull')).map((c) => c.argv.slice(c.argv.indexOf('pull') + 1));
    expect(pulls).toEqual([['--quiet', 'api', 'web']]);
  });

  it('stateful not healthy: stops at gate 1 saying what it saw; migrations and the API never run', async () => {
    const { exec } = host({ statefulHealthy: false });
    const { res, end } = await bringUp(exec);
    expect(res.exitCode).toBe(1);
    expect(end?.error?.message).toMatch(/gate 1 \(stateful\) did not pass: postgres running\/unhealthy, redis not created, minio not created; nothing after it was started/);
    expect(end?.error?.hint).toMatch(/logs --tail 50 postgres redis minio; then runbook run gratonite --from gratonite.stateful/);
    expect(composeCalls(exec)).toEqual(['up stateful']);
  });

  it('a migration that exits non-zero stops at gate 2 with its exit code and last lines; the API is not started', async () => {
    const { exec } = host({ migrateExit: 3 });
    const { res, end } = await bringUp(exec);
    expect(res.exitCode).toBe(1);
    expect(end?.error?.message).toMatch(/gate 2 \(migrations of v1\.4\.2\) exited 3: .*relation "users" already exists; the API was not started/);
    expect(end?.error?.hint).toMatch(/--from gratonite\.migrate/);
    expect(composeCalls(exec)).not.toContain('up api');
  });

  it('an API answering 503 degraded stops at gate 3 with that answer; the web is not started', async () => {
    const { exec } = host({ apiHealth: '{"status":"degraded"}\n503' });
    const { res, end } = await bringUp(exec);
    expect(res.exitCode).toBe(1);
    expect(end?.error?.message).toMatch(/gate 3 \(API v1\.4\.2 \/health status ok; the web was not started\): gave up after 1 s \(last: 503 \{"status":"degraded"\}\)/);
    expect(end?.error?.hint).toMatch(/logs --tail 50 api; roll back with: runbook run gratonite.rollback/);
    expect(composeCalls(exec)).toEqual(['up stateful', 'run minio-init', 'run migrate', 'up api']);
  });

  it('a re-run on a converged host changes nothing (migrations are not run again for the same tag)', async () => {
    const { exec, state } = host();
    await bringUp(exec);
    expect(JSON.parse(state.files.get('/var/lib/gratonite/migrated') ?? '{}')).toMatchObject({ tag: config.tag, backwardCompatible: config.migrationsBackwardCompatible });
    const again = new ScriptedExecutor((cmd) => (exec as unknown as { answer: (c: Cmd) => object }).answer(cmd));
    const { res, events } = await bringUp(again);
    expect(res.exitCode).toBe(0);
    expect(events.filter((e) => e.type === 'step-changed')).toEqual([]);
    expect(composeCalls(again)).toEqual([]);
  });

  it('dry run: plans the writes and runs no gate from this machine', async () => {
    const { exec } = host({ statefulHealthy: false });
    const rec = recorder();
    const res = await runSteps(rb, { exec, config, emit: rec.emit, dryRun: true });
    expect(res.exitCode).toBe(0);
    expect(rec.events.filter((e) => e.type === 'step-planned').map((e) => (e as { id: string }).id)).toContain('gratonite.upload');
  });
});

describe('gratonite commands and parsers', () => {
  it('builds the compose commands as exact argv, secrets nowhere', async () => {
    const { gCmds } = await import('../../runbooks/gratonite/commands.ts');
    const pre = ['docker', 'compose', '--project-directory', '/opt/gratonite', '--env-file', '/opt/gratonite/compose.env', '-f', '/opt/gratonite/compose.yaml'];
    expect(gCmds.migrate().argv).toEqual([...pre, 'run', '--rm', '--no-TTY', 'migrate']);
    expect(gCmds.up('api').argv).toEqual([...pre, 'up', '-d', '--no-deps', 'api']);
    expect(gCmds.upStateful(180).argv).toEqual([...pre, 'up', '-d', '--wait', '--wait-timeout', '180', 'postgres', 'redis', 'minio']);
    expect(gCmds.restart(['api', 'web']).argv).toEqual([...pre, 'up', '-d', '--no-deps', '--force-recreate', 'api', 'web']);
    expect(gCmds.migrate().okCodes).toHaveLength(256);
  });

  it('parses compose ps in both of its formats, the health answer and sha256sum', async () => {
    const { parsePs, parseApiHealth, describePs } = await import('../../runbooks/gratonite/commands.ts');
    const { parseSums } = await import('../../runbooks/gratonite/record.ts');
    const line = { Service: 'postgres', State: 'running', Health: 'healthy' };
    expect(parsePs(JSON.stringify(line))).toEqual([line]);
    expect(parsePs(JSON.stringify([line]))).toEqual([line]);
    expect(describePs([line], ['postgres', 'redis'])).toBe('postgres running/healthy, redis not created');
    expect(parseApiHealth('{"status":"ok"}\n200', 0, '')).toEqual({ ok: true, saw: '200 status ok' });
    expect(parseApiHealth('{"status":"degraded"}\n503', 0, '').ok).toBe(false);
    expect(parseApiHealth('', 7, 'curl: (7) Failed to connect').saw).toMatch(/no answer on 127\.0\.0\.1:4000 \(curl: \(7\)/);
    expect(parseSums(`${'a'.repeat(64)}  /opt/gratonite/api.env\nsha256sum: /x: No such file`)).toEqual({ 'api.env': 'a'.repeat(64) });
  });
});
