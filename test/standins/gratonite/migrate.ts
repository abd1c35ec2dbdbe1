// Stand-in for the Gratonite API image's migration command (`node dist/db/migrate.js`): it is
// not Gratonite's schema. It runs against the real PostgreSQL of the deploy, through psql with
// ON_ERROR_STOP, so a database that is not there or a wrong password gives a non-zero exit as a
// real migration would, and every statement is safe to run again (IF NOT EXISTS, ON CONFLICT).
// The connection comes from DATABASE_URL; the password reaches psql in its environment.
import { spawnSync } from 'node:child_process';

const raw = process.env.DATABASE_URL;
if (!raw) (process.stderr.write('migrate: DATABASE_URL is not set\n'), process.exit(1));
const u = new URL(raw);
const sql = `
CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS users (id bigserial PRIMARY KEY, username text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version) VALUES ('0001_users') ON CONFLICT DO NOTHING;
SELECT 'migrations applied: ' || count(*) FROM schema_migrations;
`;
const r = spawnSync('/usr/lib/postgresql/17/bin/psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
  input: sql,
  encoding: 'utf8',
  timeout: 120_000,
  env: { ...process.env, PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1), PGCONNECT_TIMEOUT: '10' },
});
process.stdout.write(r.stdout ?? '');
process.stderr.write(r.stderr ?? '');
process.exit(r.status ?? 1);
