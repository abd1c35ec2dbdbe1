import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import type { AppDb, CentralDbConfig } from './config.ts';
import { psql, sqlLiteral } from './host-cmds.ts';
import { derivedFiles, drifts, readPlatformEnv, syncDerived, writeEnv } from './platform-files.ts';
import { envValues, newPassword, passwordProblem } from './platform-env.ts';
import { roleVerifier, setPasswordSql, waitPool } from './platform.ts';
import { scramMatches } from './scram.ts';

const ok = (reason: string) => ({ done: true as const, reason });

export function requireApp(c: CentralDbConfig, host: string): AppDb {
  if (!c.app) throw new RunbookError('config', 'APP_DB and APP_ROLE are required for this runbook', { host, hint: 'add APP_DB=trading_db and APP_ROLE=trading_app_user to the env file (or a second --env file)' });
  return c.app;
}

/** The seed's grants on the database and schema public, on every existing table and sequence, and on future ones the admin creates. */
export function grantsSql(app: AppDb, admin: string): string {
  const r = `"${app.role}"`;
  return [
    `GRANT ALL PRIVILEGES ON DATABASE "${app.db}" TO ${r};`,
    `GRANT ALL ON SCHEMA public TO ${r};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r};`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${r};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE "${admin}" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE "${admin}" IN SCHEMA public GRANT USAGE ON SEQUENCES TO ${r};`,
    'CREATE EXTENSION IF NOT EXISTS vector;',
    '',
  ].join('\n');
}

/**
 * What is missing of those grants, one word per gap (empty: all there); run in the app's database.
 * has_sequence_privilege sits behind a CASE: PostgreSQL may evaluate an AND's terms in any order,
 * and on a table (pg_statistic) it fails with "is not a sequence" (seen on PostgreSQL 17).
 */
export function missingGrantsSql(app: AppDb): string {
  const r = sqlLiteral(app.role);
  return `SELECT concat_ws(' ',
  CASE WHEN NOT has_database_privilege(${r}, current_database(), 'CREATE') OR NOT has_database_privilege(${r}, current_database(), 'CONNECT') OR NOT has_database_privilege(${r}, current_database(), 'TEMPORARY') THEN 'database' END,
  CASE WHEN NOT has_schema_privilege(${r}, 'public', 'CREATE') OR NOT has_schema_privilege(${r}, 'public', 'USAGE') THEN 'schema' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND NOT (has_table_privilege(${r}, format('%I.%I', t.schemaname, t.tablename), 'SELECT') AND has_table_privilege(${r}, format('%I.%I', t.schemaname, t.tablename), 'INSERT') AND has_table_privilege(${r}, format('%I.%I', t.schemaname, t.tablename), 'UPDATE') AND has_table_privilege(${r}, format('%I.%I', t.schemaname, t.tablename), 'DELETE'))) THEN 'tables' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE CASE WHEN c.relkind = 'S' AND n.nspname = 'public' THEN NOT has_sequence_privilege(${r}, c.oid, 'USAGE') ELSE false END) THEN 'sequences' END,
  CASE WHEN NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN 'vector' END);
`;
}

export async function databaseExists(exec: Executor, admin: string, db: string): Promise<boolean> {
  const r = await exec.run(psql(admin, 'postgres', `SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(db)};\n`, { write: false }));
  return r.stdout.trim() === '1';
}

/** The app's password from platform.env, refused when weak. */
export async function appPassword(exec: Executor, c: CentralDbConfig, app: AppDb): Promise<Secret> {
  const values = envValues(await readPlatformEnv(exec));
  const pw = values.get(app.passwordKey);
  if (!pw) throw new RunbookError('precondition', `platform.env has no ${app.passwordKey}`, { host: exec.host, hint: 'runbook run central-db.onboard first' });
  const bad = passwordProblem(app.passwordKey, pw, values, c.minPasswordLength);
  if (bad) throw new RunbookError('precondition', `refused: ${bad}`, { host: exec.host, hint: 'give the role a new strong password: runbook run central-db.rotate-password (same env file)' });
  return new Secret(app.passwordKey, pw);
}

export function onboardSteps(): Step<CentralDbConfig>[] {
  return [
    {
      id: 'onboard.password',
      title: 'The role\'s password in platform.env, and strong',
      doc: 'The password lives in platform.env as `<ROLE without _user>_DB_PASSWORD` (the seed\'s `TRADING_APP_DB_PASSWORD`), beside `<...>_DB_USER`. When missing it is `APP_DB_PASSWORD` from the env file, or a new random 32-character value. Refused: the seed\'s `"6432"`, anything shorter than `MIN_PASSWORD_LENGTH`, and a value another login already uses; the fix is `central-db.rotate-password`. A different `APP_DB_PASSWORD` than platform.env\'s is refused too (rotation is its own runbook).',
      async check({ exec, config }) {
        const app = requireApp(config, exec.host);
        const values = envValues(await readPlatformEnv(exec));
        const have = values.get(app.passwordKey);
        if (have && config.app?.password && config.app.password.reveal() !== have) {
          throw new RunbookError('precondition', `platform.env already holds a different ${app.passwordKey} than APP_DB_PASSWORD`, { host: exec.host, hint: 'remove APP_DB_PASSWORD from the env file to keep platform.env\'s value, or change it with: runbook run central-db.rotate-password' });
        }
        if (!have) return { done: false, reason: `no ${app.passwordKey} in platform.env` };
        await appPassword(exec, config, app);
        return values.get(app.userKey) === app.role ? ok(`${app.passwordKey} set and strong`) : { done: false, reason: `no ${app.userKey} in platform.env` };
      },
      async apply({ exec, config, log }) {
        const app = requireApp(config, exec.host);
        const values = envValues(await readPlatformEnv(exec));
        const pw = values.get(app.passwordKey) ?? app.password?.reveal() ?? newPassword();
        const bad = passwordProblem(app.passwordKey, pw, values, config.minPasswordLength);
        if (bad) throw new RunbookError('precondition', `refused: ${bad}`, { host: exec.host, hint: app.password ? 'choose another APP_DB_PASSWORD' : 'runbook run central-db.rotate-password' });
        if (!values.has(app.passwordKey)) log(app.password ? `${app.passwordKey} from APP_DB_PASSWORD` : `${app.passwordKey} generated`);
        await writeEnv(exec, { [app.userKey]: app.role, [app.passwordKey]: pw });
      },
    },
    {
      id: 'onboard.userlist',
      title: 'PgBouncer\'s userlist has the role (reloaded)',
      async check({ exec }) {
        const d = await drifts(exec, derivedFiles(await readPlatformEnv(exec)));
        return d.length ? { done: false, reason: d.join('; ') } : ok('userlist matches platform.env');
      },
      async apply({ exec, log }) {
        await syncDerived(exec, await readPlatformEnv(exec), log);
      },
    },
    {
      id: 'onboard.role',
      title: 'Login role with the password from platform.env',
      doc: 'Creates the role (LOGIN, no other attributes) or sets its password; the SQL carries a SCRAM verifier computed here and travels on stdin, so the value is in no argv, shell history or server log.',
      async check({ exec, config }) {
        const app = requireApp(config, exec.host);
        const pw = await appPassword(exec, config, app);
        const v = await roleVerifier(exec, config.adminUser, app.role);
        if (v === null) {
          const exists = await exec.run(psql(config.adminUser, 'postgres', `SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(app.role)};\n`, { write: false }));
          return { done: false, reason: exists.stdout.trim() === '1' ? 'role has no password' : 'no such role' };
        }
        return scramMatches(pw.reveal(), v) ? ok(`${app.role} exists, password matches platform.env`) : { done: false, reason: 'password differs from platform.env' };
      },
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        const pw = await appPassword(exec, config, app);
        await exec.run(psql(config.adminUser, 'postgres', `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(app.role)}) THEN CREATE ROLE "${app.role}" LOGIN; END IF; END $$;\n`));
        await exec.run(psql(config.adminUser, 'postgres', setPasswordSql(app.role, pw.reveal())));
      },
    },
    {
      id: 'onboard.database',
      title: 'The application database',
      async check({ exec, config }) {
        const app = requireApp(config, exec.host);
        return (await databaseExists(exec, config.adminUser, app.db)) ? ok(`${app.db} exists`) : { done: false, reason: `no database ${app.db}` };
      },
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        await exec.run(psql(config.adminUser, 'postgres', `CREATE DATABASE "${app.db}";\n`));
      },
    },
    {
      id: 'onboard.grants',
      title: 'The seed\'s grants, and pgvector in the database',
      doc: 'The seed\'s grants: ALL on the database and on schema public; SELECT, INSERT, UPDATE, DELETE on every table and USAGE on every sequence, and the same by default on what the admin creates later; `CREATE EXTENSION vector` (pgvector, which the platform exists for).',
      async check({ exec, config }) {
        const app = requireApp(config, exec.host);
        const r = await exec.run(psql(config.adminUser, app.db, missingGrantsSql(app), { write: false }));
        const gaps = r.stdout.trim();
        return gaps ? { done: false, reason: `missing: ${gaps}` } : ok('all granted, vector present');
      },
      async apply({ exec, config }) {
        const app = requireApp(config, exec.host);
        await exec.run(psql(config.adminUser, app.db, grantsSql(app, config.adminUser)));
      },
    },
    {
      id: 'onboard.login',
      title: 'The role logs in through PgBouncer',
      async check({ exec, config }) {
        const app = requireApp(config, exec.host);
        // A reload (SIGHUP) a step ago is asynchronous: allow it a few seconds.
        await waitPool(exec, app.role, await appPassword(exec, config, app), app.db, 30_000);
        return ok(`SELECT 1 as ${app.role} on ${app.db} through pgbouncer:6432`);
      },
      async apply() {},
    },
  ];
}
