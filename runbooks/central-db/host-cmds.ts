import { type Cmd, read, write } from '../../lib/core/cmd.ts';
import { Secret } from '../../lib/core/secret.ts';
import { CONTAINERS, SRV } from './config.ts';

// Builders of the commands the central-db runbooks run on the host. Pure: they return argv and
// stdin and never run anything; every secret travels on stdin, never in argv.

/** `docker compose` as the seed runs it: the one env file for interpolation, the platform's compose file. */
export const compose = (args: string[], o: { write?: boolean; timeoutMs?: number } = {}): Cmd =>
  (o.write === false ? read : write)(['docker', 'compose', '--env-file', SRV.env, '-f', SRV.compose, ...args], { timeoutMs: o.timeoutMs ?? 10 * 60_000 });

/** SQL as the superuser over the container's local socket; the SQL (which may hold a verifier) on stdin. */
export function psql(admin: string, db: string, sql: string | Secret, o: { write?: boolean; okCodes?: number[] } = {}): Cmd {
  return (o.write === false ? read : write)(['docker', 'exec', '-i', CONTAINERS.postgres, 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', admin, '-d', db, '-f', '-'], {
    stdin: sql,
    okCodes: o.okCodes,
    timeoutMs: 10 * 60_000,
    summary: `psql -d ${db} (${typeof sql === 'string' ? sql.trim().split('\n')[0]?.slice(0, 80) : 'SQL with a password verifier'})`,
  });
}

/**
 * Reads a secret from stdin into an exported variable, then execs the rest. The whole of stdin,
 * not `read -r`: a secret arrives without a trailing newline, and `read` then fails at EOF (exit 1,
 * nothing on stderr) although it filled the variable.
 */
export const fromStdin = (name: string, then: string) => `${name}="$(cat)" && export ${name} && exec ${then}`;

/** One query through PgBouncer (host pgbouncer:6432 on the platform network) as a login role; its password on stdin. */
export function poolQuery(user: string, password: Secret, db: string, sql: string): Cmd {
  return read(
    ['docker', 'exec', '-i', CONTAINERS.postgres, 'sh', '-c', fromStdin('PGPASSWORD', 'psql -X -A -t -v ON_ERROR_STOP=1 -h pgbouncer -p 6432 -U "$1" -d "$2" -c "$3"'), 'sh', user, db, sql],
    { stdin: password, okCodes: [0, 1, 2], timeoutMs: 60_000 },
  );
}

/** redis-cli inside the Redis container, authenticated through REDISCLI_AUTH read from stdin. */
export function redisCli(password: Secret | null, args: string[]): Cmd {
  const script = password ? fromStdin('REDISCLI_AUTH', 'redis-cli --no-auth-warning "$@"') : 'exec redis-cli "$@"';
  return read(['docker', 'exec', '-i', CONTAINERS.redis, 'sh', '-c', script, 'sh', ...args], { stdin: password ?? '', okCodes: [0, 1], timeoutMs: 60_000 });
}

export { healthOf } from '../../lib/steps/docker.ts';

/** The PgBouncer reload: SIGHUP re-reads pgbouncer.ini and the userlist without dropping clients. */
export const reloadPgbouncer = (): Cmd => write(['docker', 'kill', '--signal', 'HUP', CONTAINERS.pgbouncer]);

/** A literal for SQL text sent on stdin (never in argv): single quotes doubled. */
export const sqlLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
