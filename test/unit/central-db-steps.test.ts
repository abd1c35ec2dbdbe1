// central-db steps against a scripted host: what they run, and what they refuse.
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Step, StepContext } from '../../lib/engine/types.ts';
import type { CentralDbConfig } from '../../runbooks/central-db/config.ts';
import { dockerSteps } from '../../runbooks/central-db/docker.ts';
import { exampleConfig } from '../../runbooks/central-db/index.ts';
import { onboardSteps } from '../../runbooks/central-db/onboard.ts';
import { rebuildSteps } from '../../runbooks/central-db/rebuild.ts';
import { inContainer } from '../../runbooks/central-db/restore.ts';
import { ScriptedExecutor } from './fakes.ts';

const ctx = (exec: ScriptedExecutor, config: CentralDbConfig = exampleConfig()): StepContext<CentralDbConfig> => ({ exec, config, log: () => {} });
/** The example config without APP_DB_PASSWORD: platform.env's value (or a new one) is used. */
const noGivenPassword = (): CentralDbConfig => {
  const c = exampleConfig();
  return { ...c, app: c.app && { ...c.app, password: undefined } };
};
const step = (steps: Step<CentralDbConfig>[], id: string) => {
  const s = steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id}`);
  return s;
};
const is = (c: Cmd, ...argv: string[]) => argv.every((a, i) => c.argv[i] === a);

describe('docker.log-rotation', () => {
  const rotation = step(dockerSteps(), 'docker.log-rotation');
  const host = (daemonJson: string | null) =>
    new ScriptedExecutor((c) => {
      if (is(c, 'cat', '--', '/etc/docker/daemon.json')) return daemonJson === null ? { exitCode: 1, stderr: 'No such file' } : { stdout: daemonJson };
      if (is(c, 'stat')) return { exitCode: 1 };
      if (is(c, 'systemctl', 'is-active')) return { stdout: 'active\n' };
      if (is(c, 'docker', 'inspect')) return { stdout: c.argv.includes('{{.State.Running}}') ? 'true\n' : 'healthy\n' };
      return {};
    });

  it('merges into the existing file and restarts Docker once, then waits for the containers that were running', async () => {
    const exec = host('{"data-root":"/srv/docker"}');
    await rotation.apply(ctx(exec));
    const install = exec.calls.find((c) => is(c, 'install'));
    expect(JSON.parse(String(install?.stdin))).toEqual({ 'data-root': '/srv/docker', 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '5' } });
    expect(exec.calls.filter((c) => is(c, 'systemctl', 'restart', 'docker.service'))).toHaveLength(1);
    const after = exec.calls.slice(exec.calls.findIndex((c) => is(c, 'systemctl', 'restart')));
    expect(after.filter((c) => is(c, 'docker', 'inspect')).map((c) => c.argv.at(-1))).toEqual(['postgres-db', 'pgbouncer', 'redis']);
  });

  it('neither writes nor restarts when rotation is already set', async () => {
    const exec = host('{"log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"5"}}');
    expect(await rotation.check(ctx(exec))).toEqual({ done: true, reason: 'json-file with rotation already set' });
    await rotation.apply(ctx(exec));
    expect(exec.calls.filter((c) => c.write)).toEqual([]);
  });
});

describe('central-db.onboard', () => {
  const password = step(onboardSteps(), 'onboard.password');
  const withEnv = (text: string) =>
    new ScriptedExecutor((c) => (is(c, 'cat', '--', '/srv/config/platform.env') ? { stdout: text } : {}));
  const base = 'POSTGRES_USER=platform_admin\nPOSTGRES_PASSWORD=change-me-Platform-Admin-0123456789\nREDIS_PASSWORD=change-me-Redis-0123456789abcdef\nTRADING_APP_DB_USER=trading_app_user\n';

  it('refuses the seed\'s "6432" and names the rotation runbook', async () => {
    const e = await password.check(ctx(withEnv(`${base}TRADING_APP_DB_PASSWORD=6432\n`), noGivenPassword())).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RunbookError);
    expect((e as RunbookError).message).toMatch(/refused: TRADING_APP_DB_PASSWORD is "6432"/);
    expect((e as RunbookError).hint).toMatch(/central-db.rotate-password/);
  });

  it('refuses an APP_DB_PASSWORD that differs from platform.env\'s (rotation is its own runbook)', async () => {
    const e = await password.check(ctx(withEnv(`${base}TRADING_APP_DB_PASSWORD=Another-strong-password-0123456789\n`))).catch((x: unknown) => x);
    expect((e as RunbookError).message).toMatch(/already holds a different TRADING_APP_DB_PASSWORD than APP_DB_PASSWORD/);
  });

  it('refuses a password reused from the admin', async () => {
    const e = await password.check(ctx(withEnv(`${base}TRADING_APP_DB_PASSWORD=change-me-Platform-Admin-0123456789\n`), noGivenPassword())).catch((x: unknown) => x);
    expect((e as RunbookError).message).toMatch(/same value as POSTGRES_PASSWORD/);
  });

  it('generates a strong password into platform.env (mode 600, by rename) when there is none', async () => {
    const exec = withEnv(base.replace('TRADING_APP_DB_USER=trading_app_user\n', ''));
    expect(await password.check(ctx(exec, noGivenPassword()))).toEqual({ done: false, reason: 'no TRADING_APP_DB_PASSWORD in platform.env' });
    await password.apply(ctx(exec, noGivenPassword()));
    const install = exec.calls.find((c) => is(c, 'install'));
    expect(install?.argv).toEqual(['install', '-D', '-m', '0600', '-o', 'root', '-g', 'root', '/dev/stdin', '/srv/config/platform.env.runbook-new']);
    expect(String(install?.stdin)).toMatch(/\nTRADING_APP_DB_USER=trading_app_user\nTRADING_APP_DB_PASSWORD=[A-Za-z0-9]{32}\n$/);
    expect(exec.calls.some((c) => is(c, 'mv', '-f', '--', '/srv/config/platform.env.runbook-new', '/srv/config/platform.env'))).toBe(true);
    expect(exec.calls.flatMap((c) => c.argv).join(' ')).not.toMatch(/TRADING_APP_DB_PASSWORD=/);
  });
});

describe('rebuild.schema', () => {
  it('copies init.sql into postgres-db, runs it with ON_ERROR_STOP, removes the copy, then grants', async () => {
    const config = exampleConfig();
    const app = config.app;
    if (!app) throw new Error('the example config has an app');
    const exec = new ScriptedExecutor();
    await step(rebuildSteps(), 'rebuild.schema').apply(ctx(exec, config));
    const p = `/tmp/init-${app.db}.sql`;
    expect(exec.calls.map((c) => c.argv.join(' '))).toEqual([
      `docker cp ${app.initSql} postgres-db:${p}`,
      `docker exec postgres-db psql -X -q -v ON_ERROR_STOP=1 -U ${config.adminUser} -d ${app.db} -f ${p}`,
      `docker exec postgres-db rm -f ${p}`,
      `docker exec -i postgres-db psql -X -q -A -t -v ON_ERROR_STOP=1 -U ${config.adminUser} -d ${app.db} -f -`,
    ]);
  });

  it('a failing init.sql still has its copy removed, and its own error is the one reported', async () => {
    const exec = new ScriptedExecutor((c) => (c.argv.includes('ON_ERROR_STOP=1') && c.argv.includes('-q') && !c.argv.includes('-i') ? { exitCode: 3, stderr: 'ERROR: syntax error' } : {}));
    await expect(step(rebuildSteps(), 'rebuild.schema').apply(ctx(exec))).rejects.toThrow(/syntax error|exit 3|exited 3/);
    // cp, the failing psql, rm; no grants after a failed schema
    expect(exec.calls.map((c) => c.argv.slice(0, 4).join(' '))).toEqual([`docker cp ${exampleConfig().app?.initSql} postgres-db:/tmp/init-${exampleConfig().app?.db}.sql`, 'docker exec postgres-db psql', 'docker exec postgres-db rm']);
  });

  it('inContainer reports the use error even when the removal fails too', async () => {
    const exec = new ScriptedExecutor((c) => (c.argv.includes('rm') ? { exitCode: 1, stderr: 'rm failed' } : {}));
    await expect(inContainer(exec, '/srv/backups/x.sql', 'x.sql', () => Promise.reject(new Error('psql failed')))).rejects.toThrow('psql failed');
    expect(exec.calls.at(-1)?.argv).toEqual(['docker', 'exec', 'postgres-db', 'rm', '-f', '/tmp/x.sql']);
  });
});
