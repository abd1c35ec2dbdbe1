import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/schema.ts';
import { Secret } from '../../lib/core/secret.ts';
import { centralDbConfig, passwordKeyFor } from '../../runbooks/central-db/config.ts';
import { mergeDaemonJson } from '../../runbooks/central-db/docker.ts';
import { compose, fromStdin, poolQuery, psql, redisCli, reloadPgbouncer, sqlLiteral } from '../../runbooks/central-db/host-cmds.ts';
import { completeStamps, parseManifest, verifyFiles } from '../../runbooks/central-db/manifest.ts';
import { grantsSql } from '../../runbooks/central-db/onboard.ts';
import { envValues, mergeEnv, newPassword, parsePlatformEnv, passwordProblem, renderEnv, userlist } from '../../runbooks/central-db/platform-env.ts';
import { migratorCmd } from '../../runbooks/central-db/rebuild.ts';
import { unexpectedGlobalsErrors } from '../../runbooks/central-db/restore.ts';
import { scramMatches, scramVerifier } from '../../runbooks/central-db/scram.ts';
import { exampleConfig } from '../../runbooks/central-db/index.ts';
import { runbookErrorOf } from './fakes.ts';

const envFileOf = (text: string, mode = 0o600) => {
  const p = join(mkdtempSync(join(tmpdir(), 'cdb-env-')), 'central-db.env');
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
const good = 'POSTGRES_PASSWORD=Admin-password-0123456789\nREDIS_PASSWORD=Redis-password-0123456789\nBACKUP_BUCKET=central-db-backups\nBACKUP_PREFIX=central-db/test\n';

describe('central-db config', () => {
  it('takes the defaults: platform_admin and the upstream images', () => {
    const c = loadConfig(centralDbConfig, [envFileOf(good)]);
    expect(c.adminUser).toBe('platform_admin');
    expect(c.images).toEqual({ POSTGRES_IMAGE: 'pgvector/pgvector:pg17', PGBOUNCER_IMAGE: 'perconalab/percona-pgbouncer:1.24.1', REDIS_IMAGE: 'redis/redis-stack:7.2.0-v7' });
    expect(c.app).toBeUndefined();
    expect(c.gateDeadlineMs).toBe(300_000);
    expect(loadConfig(centralDbConfig, [envFileOf(`${good}GATE_DEADLINE_SECONDS=900\n`)]).gateDeadlineMs).toBe(900_000);
    expect(runbookErrorOf(() => loadConfig(centralDbConfig, [envFileOf(`${good}GATE_DEADLINE_SECONDS=5\n`)])).message).toMatch(/GATE_DEADLINE_SECONDS/);
  });

  it('derives the seed\'s key names for an application', () => {
    const c = loadConfig(centralDbConfig, [envFileOf(`${good}APP_DB=trading_db\nAPP_ROLE=trading_app_user\n`)]);
    expect(c.app).toMatchObject({ db: 'trading_db', role: 'trading_app_user', passwordKey: 'TRADING_APP_DB_PASSWORD', userKey: 'TRADING_APP_DB_USER', dir: '/srv/apps/trading-app', initSql: '/srv/apps/trading-app/init.sql', migratorService: 'migrator', migratorCommand: ['alembic', 'upgrade', 'head'] });
    expect(passwordKeyFor('analytics')).toBe('ANALYTICS_DB_PASSWORD');
  });

  it.each([
    ['a short admin password', good.replace('Admin-password-0123456789', 'short'), /POSTGRES_PASSWORD must be at least 16 characters/],
    ['a Redis password with a space', good.replace('REDIS_PASSWORD=Redis-password-0123456789', "REDIS_PASSWORD='Redis password 0123456789'"), /REDIS_PASSWORD must be at least 16 characters of letters/],
    ['an APP_DB that is no identifier', `${good}APP_DB=Trading-DB\nAPP_ROLE=trading_app_user\n`, /APP_DB must be a lower-case SQL identifier/],
    ['an unknown variable', `${good}APP_PASSWORD=x\n`, /unknown variable APP_PASSWORD/],
    ['a bad restore stamp', `${good}RESTORE_FROM=yesterday\n`, /RESTORE_FROM must be "newest" or a stamp/],
  ])('refuses %s', (_n, text, msg) => {
    expect(runbookErrorOf(() => loadConfig(centralDbConfig, [envFileOf(text)])).message).toMatch(msg);
  });

  it('refuses an env file with secrets that others can read', () => {
    const e = runbookErrorOf(() => loadConfig(centralDbConfig, [envFileOf(good, 0o644)]));
    expect(e.message).toMatch(/holds secrets but group or others can read it/);
    expect(e.hint).toMatch(/^chmod 600 /);
  });
});

describe('platform.env', () => {
  const current = "# platform secrets\nPOSTGRES_USER=platform_admin\nGRATONITE_DB_PASSWORD='a b c'\nTRADING_APP_DB_USER=trading_app_user\nTRADING_APP_DB_PASSWORD=6432\n";

  it('sets its own keys in place and appends new ones, keeping every other line', () => {
    const out = renderEnv(mergeEnv(parsePlatformEnv(current), { POSTGRES_USER: 'platform_admin', POSTGRES_PASSWORD: 'p@ss:word/1', REDIS_PASSWORD: 'has space$' }));
    expect(out).toBe("# platform secrets\nPOSTGRES_USER=platform_admin\nGRATONITE_DB_PASSWORD='a b c'\nTRADING_APP_DB_USER=trading_app_user\nTRADING_APP_DB_PASSWORD=6432\nPOSTGRES_PASSWORD=p@ss:word/1\nREDIS_PASSWORD='has space$'\n");
    expect(renderEnv(mergeEnv(parsePlatformEnv(out), { TRADING_APP_DB_PASSWORD: 'x'.repeat(32) }))).toBe(out.replace('TRADING_APP_DB_PASSWORD=6432', `TRADING_APP_DB_PASSWORD=${'x'.repeat(32)}`));
  });

  it('reads quoted values back as written', () => {
    const v = envValues(parsePlatformEnv(current));
    expect(v.get('GRATONITE_DB_PASSWORD')).toBe('a b c');
    expect(v.get('TRADING_APP_DB_PASSWORD')).toBe('6432');
  });

  it('refuses a value it cannot write back', () => {
    expect(runbookErrorOf(() => mergeEnv(parsePlatformEnv(''), { X_DB_PASSWORD: "it's" })).message).toMatch(/X_DB_PASSWORD holds a single quote/);
  });

  it('renders PgBouncer\'s userlist from it: the admin and every app with both keys, sorted', () => {
    const v = envValues(parsePlatformEnv('POSTGRES_USER=platform_admin\nPOSTGRES_PASSWORD=adminpw-0123456789abc\nZED_DB_USER=zed_user\nZED_DB_PASSWORD=zedpw\nTRADING_APP_DB_USER=trading_app_user\nTRADING_APP_DB_PASSWORD=tradingpw\nORPHAN_DB_USER=orphan\n'));
    expect(userlist(v)).toBe('"platform_admin" "adminpw-0123456789abc"\n"trading_app_user" "tradingpw"\n"zed_user" "zedpw"\n');
  });

  it('refuses the seed\'s "6432", short values and values another login uses', () => {
    const v = envValues(parsePlatformEnv('POSTGRES_PASSWORD=shared-value-0123456789\nREDIS_PASSWORD=redis-value-0123456789\n'));
    expect(passwordProblem('T_DB_PASSWORD', '6432', v, 20)).toMatch(/"6432", the seed's known-weak/);
    expect(passwordProblem('T_DB_PASSWORD', 'abcdefghij', v, 20)).toMatch(/10 characters, shorter than 20/);
    expect(passwordProblem('T_DB_PASSWORD', 'shared-value-0123456789', v, 20)).toMatch(/same value as POSTGRES_PASSWORD/);
    expect(passwordProblem('T_DB_PASSWORD', newPassword(), v, 20)).toBeNull();
  });

  it('generates 32 letters and digits, never the same twice', () => {
    const a = newPassword();
    expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(newPassword()).not.toBe(a);
  });
});

describe('SCRAM verifiers', () => {
  it('has PostgreSQL\'s format and matches only its own password', () => {
    const v = scramVerifier('correct horse', Buffer.alloc(16, 7), 4096);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:BwcHBwcHBwcHBwcHBwcHBw==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(scramMatches('correct horse', v)).toBe(true);
    expect(scramMatches('correct horsf', v)).toBe(false);
    expect(scramMatches('correct horse', 'md5abcdef')).toBe(false);
    expect(scramVerifier('x')).not.toBe(scramVerifier('x'));
  });
  it('gives RFC 7677\'s server signature for its example exchange', () => {
    const v = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const serverKey = Buffer.from(v.split(':').pop() as string, 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});

describe('daemon.json merge', () => {
  it('writes json-file rotation into a missing or empty file', () => {
    expect(JSON.parse(mergeDaemonJson(null) as string)).toEqual({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '5' } });
    expect(mergeDaemonJson('')).toBe(mergeDaemonJson(null));
  });
  it('keeps every other key and log-opt', () => {
    const out = mergeDaemonJson('{"data-root": "/srv/docker", "log-driver": "journald", "log-opts": {"tag": "{{.Name}}"}, "live-restore": true}');
    expect(JSON.parse(out as string)).toEqual({ 'data-root': '/srv/docker', 'log-driver': 'json-file', 'log-opts': { tag: '{{.Name}}', 'max-size': '10m', 'max-file': '5' }, 'live-restore': true });
  });
  it('says nothing changed when the file already rotates (so Docker is not restarted)', () => {
    expect(mergeDaemonJson('{"log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"5"},"ipv6":false}')).toBeNull();
  });
  it('refuses a file that is not a JSON object instead of overwriting it', () => {
    expect(runbookErrorOf(() => mergeDaemonJson('{"log-driver": ')).message).toMatch(/daemon.json is not valid JSON/);
    expect(runbookErrorOf(() => mergeDaemonJson('[1]')).message).toMatch(/is not a JSON object/);
  });
});

describe('host command builders', () => {
  it('psql: SQL on stdin, never in argv', () => {
    const sql = new Secret('ALTER ROLE', "ALTER ROLE \"r\" WITH PASSWORD 'SCRAM-SHA-256$x';\n");
    const c = psql('platform_admin', 'trading_db', sql);
    expect(c.argv).toEqual(['docker', 'exec', '-i', 'postgres-db', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', 'platform_admin', '-d', 'trading_db', '-f', '-']);
    expect(c.stdin).toBe(sql);
    expect(c.write).toBe(true);
    expect(c.summary).toBe('psql -d trading_db (SQL with a password verifier)');
    expect(psql('a', 'postgres', 'SELECT 1;\n', { write: false }).write).toBe(false);
  });
  it('a query through PgBouncer: the password on stdin only', () => {
    const pw = new Secret('T', 'pool-password-0123456789');
    const c = poolQuery('trading_app_user', pw, 'trading_db', 'SELECT 1');
    expect(c.argv).toEqual(['docker', 'exec', '-i', 'postgres-db', 'sh', '-c', 'PGPASSWORD="$(cat)" && export PGPASSWORD && exec psql -X -A -t -v ON_ERROR_STOP=1 -h pgbouncer -p 6432 -U "$1" -d "$2" -c "$3"', 'sh', 'trading_app_user', 'trading_db', 'SELECT 1']);
    expect(c.stdin).toBe(pw);
    expect(c.argv.join(' ')).not.toContain('pool-password');
  });
  it('redis-cli with REDISCLI_AUTH from stdin, or without auth', () => {
    const pw = new Secret('R', 'redis-password-0123456789');
    expect(redisCli(pw, ['PING']).argv).toEqual(['docker', 'exec', '-i', 'redis', 'sh', '-c', 'REDISCLI_AUTH="$(cat)" && export REDISCLI_AUTH && exec redis-cli --no-auth-warning "$@"', 'sh', 'PING']);
    expect(redisCli(pw, ['PING']).stdin).toBe(pw);
    expect(redisCli(null, ['PING']).argv).toEqual(['docker', 'exec', '-i', 'redis', 'sh', '-c', 'exec redis-cli "$@"', 'sh', 'PING']);
  });
  it('the in-container script takes the secret from stdin with or without a trailing newline, and runs the command', () => {
    const sh = ['/bin/dash', '/bin/sh'].find((p) => existsSync(p)) ?? 'sh';
    const script = fromStdin('PGPASSWORD', 'sh -c \'printf "%s|%s" "$PGPASSWORD" "$1"\' sh "$1"');
    for (const input of ['p@ss word $x', 'p@ss word $x\n']) {
      const r = spawnSync(sh, ['-c', script, 'sh', 'arg1'], { input, encoding: 'utf8' });
      expect([r.status, r.stdout]).toEqual([0, 'p@ss word $x|arg1']);
    }
  });
  it('compose always with the platform env file', () => {
    expect(compose(['up', '-d', '--no-deps', 'pgbouncer']).argv).toEqual(['docker', 'compose', '--env-file', '/srv/config/platform.env', '-f', '/srv/apps/central-db/compose.yaml', 'up', '-d', '--no-deps', 'pgbouncer']);
    expect(reloadPgbouncer().argv).toEqual(['docker', 'kill', '--signal', 'HUP', 'pgbouncer']);
  });
  it('the migrator as the seed runs it, with the app\'s .env only when there is one', () => {
    const app = { ...exampleAppConfig(), dir: '/srv/apps/trading-app' };
    expect(migratorCmd(app, 'compose.yaml', true).argv).toEqual(['docker', 'compose', '--project-directory', '/srv/apps/trading-app', '-f', '/srv/apps/trading-app/compose.yaml', '--env-file', '/srv/apps/trading-app/.env', '--env-file', '/srv/config/platform.env', 'run', '--rm', '-T', 'migrator', 'alembic', 'upgrade', 'head']);
    expect(migratorCmd(app, 'compose.yaml', false).argv).not.toContain('/srv/apps/trading-app/.env');
  });
  it('quotes SQL literals', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
  });
  it('grants exactly what the seed grants, plus defaults and pgvector', () => {
    expect(grantsSql(exampleAppConfig(), 'platform_admin')).toBe(
      [
        'GRANT ALL PRIVILEGES ON DATABASE "trading_db" TO "trading_app_user";',
        'GRANT ALL ON SCHEMA public TO "trading_app_user";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "trading_app_user";',
        'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "trading_app_user";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "platform_admin" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "trading_app_user";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "platform_admin" IN SCHEMA public GRANT USAGE ON SEQUENCES TO "trading_app_user";',
        'CREATE EXTENSION IF NOT EXISTS vector;',
        '',
      ].join('\n'),
    );
  });
});

function exampleAppConfig() {
  const app = exampleConfig().app;
  if (!app) throw new Error('the example config has no app');
  return app;
}

describe('backup manifest', () => {
  const h = (c: string) => c.repeat(64);
  const manifest = `# central-db backup 20261201T023000Z\n# postgres 17.2\n${h('a')} 120 globals.sql\n${h('b')} 4096 db-trading_db.dump\n${h('c')} 88 redis.rdb\n`;

  it('parses the entries', () => {
    expect(parseManifest(manifest)).toEqual([
      { sha256: h('a'), size: 120, name: 'globals.sql' },
      { sha256: h('b'), size: 4096, name: 'db-trading_db.dump' },
      { sha256: h('c'), size: 88, name: 'redis.rdb' },
    ]);
  });
  it('refuses a line that is no entry, a name that is no backup file, and a manifest without globals', () => {
    expect(runbookErrorOf(() => parseManifest(`${manifest}garbage\n`)).message).toMatch(/MANIFEST:6 is not/);
    expect(runbookErrorOf(() => parseManifest(`${h('d')} 1 ../../etc/passwd\n`)).message).toMatch(/MANIFEST:1 is not/);
    expect(runbookErrorOf(() => parseManifest(`${h('b')} 4096 db-x.dump\n`)).message).toMatch(/lists no globals.sql/);
  });
  it('finds a missing file, a wrong size and a wrong hash', () => {
    const e = parseManifest(manifest);
    const sums = `${h('a')}  /srv/backups/r/globals.sql\n${h('e')}  /srv/backups/r/db-trading_db.dump\n`;
    const sizes = '120 /srv/backups/r/globals.sql\n4096 /srv/backups/r/db-trading_db.dump\n';
    expect(verifyFiles(e, sums, sizes)).toEqual(['db-trading_db.dump has SHA-256 eeeeeeeeeeee..., the manifest says bbbbbbbbbbbb...', 'redis.rdb is missing']);
    expect(verifyFiles(e.slice(0, 1), sums, '121 /srv/backups/r/globals.sql\n')).toEqual(['globals.sql is 121 bytes, the manifest says 120']);
    expect(verifyFiles(e.slice(0, 1), sums, sizes)).toEqual([]);
  });
  it('takes only backups whose manifest was uploaded, newest first', () => {
    const names = ['p/x/20261130T023000Z/globals.sql', 'p/x/20261130T023000Z/MANIFEST', 'p/x/20261201T023000Z/globals.sql', 'p/x/20261129T023000Z/MANIFEST', 'p/xy/20261202T023000Z/MANIFEST'];
    expect(completeStamps(names, 'p/x')).toEqual(['20261130T023000Z', '20261129T023000Z']);
  });
  it('accepts only "admin exists" errors from the globals on a fresh platform', () => {
    expect(unexpectedGlobalsErrors('psql:/tmp/g.sql:14: ERROR:  role "platform_admin" already exists\n', 'platform_admin')).toEqual([]);
    expect(unexpectedGlobalsErrors('psql:/tmp/g.sql:14: ERROR:  role "platform_admin" already exists\npsql:/tmp/g.sql:20: ERROR:  syntax error\n', 'platform_admin')).toEqual(['psql:/tmp/g.sql:20: ERROR:  syntax error']);
  });
});

describe('the shipped compose file', () => {
  const text = readFileSync(new URL('../../compose/central-db/compose.yaml', import.meta.url), 'utf8');
  it('publishes no port and has no version key', () => {
    expect(text).not.toMatch(/^\s*ports:/m);
    expect(text).not.toMatch(/^version:/m);
  });
  it('defaults the images to the upstream names', () => {
    expect(text).toContain('${POSTGRES_IMAGE:-pgvector/pgvector:pg17}');
    expect(text).toContain('${PGBOUNCER_IMAGE:-perconalab/percona-pgbouncer:1.24.1}');
    expect(text).toContain('${REDIS_IMAGE:-redis/redis-stack:7.2.0-v7}');
  });
});
