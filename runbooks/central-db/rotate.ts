import { write } from '../../lib/core/cmd.ts';
import { RunbookError, asRunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { ensureFile, fileCmds } from '../../lib/exec/files.ts';
import type { Step } from '../../lib/engine/types.ts';
import { type CentralDbConfig, SRV } from './config.ts';
import { psql } from './host-cmds.ts';
import { requireApp } from './onboard.ts';
import { envSpec, readPlatformEnv, syncDerived } from './platform-files.ts';
import { envValues, mergeEnv, newPassword, passwordProblem } from './platform-env.ts';
import { poolLogin, setPasswordSql, waitPool } from './platform.ts';

export const PENDING = `${SRV.env}.pending`;

export function rotateSteps(): Step<CentralDbConfig>[] {
  return [
    {
      id: 'rotate.password',
      title: 'New strong password: platform.env, ALTER ROLE, PgBouncer, proved',
      destructive: 'the role\'s old password stops working once the new one is proved; applications read the new value from platform.env at their next start',
      doc: [
        'For a weak password (the seed\'s `"6432"`) or a routine change. A new random 32-character value is',
        '',
        '1. written to `platform.env.pending` (mode 600) first, so it is never lost half-way;',
        '2. set with `ALTER ROLE` (a SCRAM verifier on stdin);',
        '3. put in PgBouncer\'s userlist, which is reloaded (SIGHUP; pooled server connections stay up, so clients already connected keep working);',
        '4. proved by a login with the new value through PgBouncer, and the old value proved refused;',
        '5. only then renamed over platform.env (atomic, mode 600).',
        '',
        'If any of 2-4 fails, the old verifier and userlist are put back and platform.env is untouched. PostgreSQL keeps one password per role, so the old value stops working at step 2 for new direct connections; through PgBouncer it works until the reload.',
      ].join('\n'),
      async check() {
        return { done: false, reason: 'rotation requested' };
      },
      async apply({ exec, config, log }) {
        const app = requireApp(config, exec.host);
        const env = await readPlatformEnv(exec);
        const values = envValues(env);
        const old = values.get(app.passwordKey);
        if (!old || values.get(app.userKey) !== app.role) throw new RunbookError('precondition', `${app.role} is not onboarded (no ${app.passwordKey}/${app.userKey} in platform.env)`, { host: exec.host, hint: 'runbook run central-db.onboard' });
        const fresh = newPassword();
        const bad = passwordProblem(app.passwordKey, fresh, values, config.minPasswordLength);
        if (bad) throw new RunbookError('stepFailed', `the generated password was refused: ${bad}`, { host: exec.host });
        const next = mergeEnv(env, { [app.passwordKey]: fresh });
        await ensureFile(exec, { ...envSpec(next), path: PENDING });
        if (exec.dryRun) return;
        try {
          await exec.run(psql(config.adminUser, 'postgres', setPasswordSql(app.role, fresh)));
          await syncDerived(exec, next, log);
          await waitPool(exec, app.role, new Secret(app.passwordKey, fresh), app.db, 30_000);
          if ((await poolLogin(exec, app.role, new Secret('old password', old), app.db)) === null) throw new RunbookError('stepFailed', 'the old password still logs in after the change', { host: exec.host });
        } catch (err) {
          log('the new password was not proved; putting the old one back');
          await exec.run(psql(config.adminUser, 'postgres', setPasswordSql(app.role, old)));
          await syncDerived(exec, env, log);
          await exec.run(write(['rm', '-f', '--', PENDING]));
          throw new RunbookError('stepFailed', `rotation of ${app.role} failed, the old password is back: ${asRunbookError(err).message}`, { host: exec.host, hint: 'docker logs --tail 50 pgbouncer, then re-run' });
        }
        await exec.run(write(['mv', '-f', '--', PENDING, SRV.env]));
        log(`${app.passwordKey} rotated; restart the application so it reads the new value`);
      },
      async verify({ exec, config }) {
        const app = requireApp(config, exec.host);
        const st = await exec.run(fileCmds.stat(SRV.env));
        if (!st.stdout.startsWith('600 root root')) throw new RunbookError('stepFailed', `${SRV.env} is ${st.stdout.trim()} after the rotation, want 600 root root`, { host: exec.host, hint: `chmod 600 ${SRV.env}` });
        const pw = envValues(await readPlatformEnv(exec)).get(app.passwordKey) ?? '';
        const why = await poolLogin(exec, app.role, new Secret(app.passwordKey, pw), app.db);
        if (why) throw new RunbookError('stepFailed', `platform.env's ${app.passwordKey} does not log in through PgBouncer: ${why}`, { host: exec.host });
      },
    },
  ];
}
