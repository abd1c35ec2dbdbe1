import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { alwaysRunStep } from '../../lib/steps/always-run.ts';
import { type AppDb, type CentralDbConfig, CONTAINERS, SRV } from './config.ts';
import { psql } from './host-cmds.ts';
import { grantsSql, requireApp } from './onboard.ts';
import { inContainer } from './restore.ts';

const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** The seed's migrator run: `docker compose --env-file ./.env --env-file platform.env run --rm migrator alembic upgrade head`, from the app's folder. */
export function migratorCmd(app: AppDb, composeFile: string, hasDotEnv: boolean) {
  return write(['docker', 'compose', '--project-directory', app.dir, '-f', `${app.dir}/${composeFile}`, ...(hasDotEnv ? ['--env-file', `${app.dir}/.env`] : []), '--env-file', SRV.env, 'run', '--rm', '-T', app.migratorService, ...app.migratorCommand], { timeoutMs: 30 * 60_000 });
}

const exists = async (exec: Executor, p: string) => (await exec.run(read(['test', '-f', p], { okCodes: [0, 1] }))).exitCode === 0;

const REASON = 'rebuild requested';

export function rebuildSteps(): Step<CentralDbConfig>[] {
  return [
    alwaysRunStep({
      id: 'rebuild.drop',
      title: 'Drop the application database (WITH FORCE)',
      destructive: 'drops the application database and every row in it, disconnecting its sessions',
      doc: 'The seed\'s "fresh install" of one application database (its section 3.2). Checks first that the schema file and the app\'s compose file are on the host, so nothing is dropped that cannot be rebuilt. Then `DROP DATABASE ... WITH (FORCE)`.',
      reason: REASON,
      async precondition({ exec, config }) {
        const app = requireApp(config, exec.host);
        if (!(await exists(exec, app.initSql))) throw new RunbookError('precondition', `the schema file ${app.initSql} is not on the host; nothing was dropped`, { host: exec.host, hint: 'put the app\'s init.sql there, or set APP_INIT_SQL' });
        if (!(await composeFileOf(exec, app))) throw new RunbookError('precondition', `no compose file in ${app.dir} for the migrator; nothing was dropped`, { host: exec.host, hint: 'set APP_DIR to the app\'s folder' });
      },
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        await exec.run(psql(config.adminUser, 'postgres', `DROP DATABASE IF EXISTS "${app.db}" WITH (FORCE);\n`));
      },
    }),
    alwaysRunStep({
      id: 'rebuild.create',
      title: 'Re-create it with the seed\'s grants',
      reason: REASON,
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        await exec.run(psql(config.adminUser, 'postgres', `CREATE DATABASE "${app.db}";\n`));
        await exec.run(psql(config.adminUser, app.db, grantsSql(app, config.adminUser)));
      },
    }),
    alwaysRunStep({
      id: 'rebuild.schema',
      title: 'Schema from the app\'s init.sql, then grants on the new objects',
      doc: '`init.sql` is copied into `postgres-db` and run as the admin with `ON_ERROR_STOP`; then the seed\'s grants on every table and sequence it created.',
      reason: REASON,
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        await inContainer(exec, app.initSql, `init-${app.db}.sql`, (p) =>
          exec.run(write(['docker', 'exec', CONTAINERS.postgres, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', config.adminUser, '-d', app.db, '-f', p])),
        );
        await exec.run(psql(config.adminUser, app.db, grantsSql(app, config.adminUser)));
      },
    }),
    alwaysRunStep({
      id: 'rebuild.migrate',
      title: 'The app\'s migration stamp (its one-shot migrator container)',
      doc: 'Runs the app\'s migrator as the seed does (`MIGRATOR_SERVICE`, `MIGRATOR_COMMAND`, default `migrator alembic upgrade head`) with the app\'s `.env` (when present) and platform.env, then reads the stamp from `alembic_version`.',
      reason: REASON,
      async apply({ exec, config, log }) {
        const app = requireApp(config, exec.host);
        const file = await composeFileOf(exec, app);
        if (!file) throw new RunbookError('precondition', `no compose file in ${app.dir}`, { host: exec.host });
        await exec.run(migratorCmd(app, file, await exists(exec, `${app.dir}/.env`)));
        if (exec.dryRun) return;
        const v = await exec.run(psql(config.adminUser, app.db, 'SELECT version_num FROM alembic_version;\n', { write: false, okCodes: [0, 1, 3] }));
        if (v.exitCode !== 0 || !v.stdout.trim()) throw new RunbookError('stepFailed', `the migrator left no stamp in ${app.db}.alembic_version`, { host: exec.host, hint: `docker compose --project-directory ${app.dir} logs ${app.migratorService}` });
        log(`${app.db} stamped at ${v.stdout.trim()}`);
      },
    }),
  ];
}

async function composeFileOf(exec: Executor, app: AppDb): Promise<string | undefined> {
  for (const n of COMPOSE_NAMES) if (await exists(exec, `${app.dir}/${n}`)) return n;
  return undefined;
}
