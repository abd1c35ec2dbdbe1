import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { ensureFile } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { type CentralDbConfig, CONTAINERS, SRV } from './config.ts';
import { waitContainer } from './docker.ts';
import { compose, healthOf, poolQuery, psql, redisCli, sqlLiteral } from './host-cmds.ts';
import { composeSpec, derivedFiles, drifts, envSpec, platformKeys, readPlatformEnv, syncDerived } from './platform-files.ts';
import { mergeEnv } from './platform-env.ts';
import { scramMatches, scramVerifier } from './scram.ts';

/** Folders with the mode and owner they must have; the data folders are handed to the containers. */
export const LAYOUT: { path: string; mode: string }[] = [
  { path: '/srv', mode: '755' },
  { path: SRV.config, mode: '700' },
  // Mounted into containers whose users are not root: readable inside, unreachable from the host
  // for anyone but root (the parent is 0700).
  { path: SRV.pgbouncer, mode: '755' },
  { path: '/srv/config/redis', mode: '755' },
  { path: SRV.data, mode: '755' },
  { path: SRV.apps, mode: '755' },
  { path: '/srv/apps/central-db', mode: '755' },
  { path: SRV.backups, mode: '700' },
];
const DATA_DIRS = [SRV.postgres, SRV.redis];

const ok = (reason: string) => ({ done: true as const, reason });

/** The superuser's password verifier, as the server holds it. */
export async function roleVerifier(exec: Executor, admin: string, role: string): Promise<string | null> {
  const r = await exec.run(psql(admin, 'postgres', `SELECT rolpassword FROM pg_authid WHERE rolname = ${sqlLiteral(role)};\n`, { write: false }));
  const v = r.stdout.trim();
  return v === '' ? null : v;
}

/** A role's password set from a verifier computed here (the plain value never reaches the server). */
export const setPasswordSql = (role: string, password: string) => new Secret('ALTER ROLE', `ALTER ROLE "${role}" WITH PASSWORD ${sqlLiteral(scramVerifier(password))};\n`);

/** PgBouncer runs a real query through the pool for this login (the seed's nc -z proves only the port). */
export async function poolLogin(exec: Executor, user: string, password: Secret, db: string): Promise<string | null> {
  const r = await exec.run(poolQuery(user, password, db, 'SELECT 1'));
  return r.exitCode === 0 && r.stdout.trim() === '1' ? null : r.stderr.trim() || `exit ${r.exitCode}`;
}

export async function waitPool(exec: Executor, user: string, password: Secret, db: string, deadlineMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      const why = await poolLogin(exec, user, password, db);
      return why === null ? { done: true, value: undefined } : { done: false, reason: why };
    },
    { what: `a query through PgBouncer as ${user} on ${db}`, deadlineMs, initialDelayMs: 1_000, maxDelayMs: 5_000, host: exec.host, hint: 'docker logs --tail 50 pgbouncer' },
  );
}

async function serviceCurrent(exec: Executor, service: string): Promise<string | null> {
  const cfg = await exec.run({ ...compose(['config', '--hash', service], { write: false }), okCodes: [0, 1, 14, 15] });
  if (cfg.exitCode !== 0) return `compose cannot read its files yet (${cfg.stderr.trim().split('\n').at(-1) ?? ''})`;
  const want = cfg.stdout.trim().split(/\s+/)[1];
  const have = (await exec.run(read(['docker', 'inspect', '-f', '{{index .Config.Labels "com.docker.compose.config-hash"}}', service], { okCodes: [0, 1] }))).stdout.trim();
  if (!have) return 'not created';
  if (have !== want) return 'its definition changed';
  const h = (await exec.run(healthOf(service))).stdout.trim();
  return h === 'healthy' ? null : h;
}

/** One service up (created or re-created only when its definition changed), then its gate. */
function serviceStep(id: string, service: string, title: string, doc: string, gate: (exec: Executor, c: CentralDbConfig) => Promise<string | null>, waitGate: (exec: Executor, c: CentralDbConfig) => Promise<void>): Step<CentralDbConfig> {
  return {
    id,
    title,
    doc,
    async check({ exec, config }) {
      const why = await serviceCurrent(exec, service);
      if (why) return { done: false, reason: `${service}: ${why}` };
      const g = await gate(exec, config);
      return g === null ? ok(`${service} healthy, gate passed`) : { done: false, reason: `${service} gate: ${g}` };
    },
    async apply({ exec, config }) {
      // Not --no-deps: Compose then drops depends_on before it hashes the service, so the
      // container's config-hash label never equals `config --hash` and every later check would
      // call PgBouncer changed. The services it depends on are already up and gated by the steps
      // before this one, so Compose finds them current and only waits for their health.
      await exec.run(compose(['up', '-d', service]));
      if (exec.dryRun) return;
      await waitContainer(exec, service, config.gateDeadlineMs);
      await waitGate(exec, config);
    },
  };
}

export function platformSteps(): Step<CentralDbConfig>[] {
  return [
    {
      id: 'srv.layout',
      title: '/srv layout: config (0700), data, apps, backups (0700)',
      doc: `Every piece of platform state under /srv (the seed's FHS rule): ${LAYOUT.map((l) => `\`${l.path}\` ${l.mode}`).join(', ')}, and ${DATA_DIRS.map((d) => `\`${d}\``).join(', ')} (handed to the containers, which set their own owners).`,
      async check({ exec }) {
        const r = await exec.run(read(['stat', '-c', '%n %a %U:%G', ...LAYOUT.map((l) => l.path), ...DATA_DIRS], { okCodes: [0, 1] }));
        const have = new Set(r.stdout.trim().split('\n'));
        const wrong = LAYOUT.filter((l) => !have.has(`${l.path} ${l.mode} root:root`)).map((l) => `${l.path} ${l.mode}`);
        const missing = DATA_DIRS.filter((d) => ![...have].some((h) => h.startsWith(`${d} `)));
        return wrong.length || missing.length ? { done: false, reason: `want ${[...wrong, ...missing].join(', ')}` } : ok('folders, modes and owners right');
      },
      async apply({ exec }) {
        for (const l of LAYOUT) await exec.run(write(['install', '-d', '-m', `0${l.mode}`, '-o', 'root', '-g', 'root', l.path]));
        for (const d of DATA_DIRS) await exec.run(write(['mkdir', '-p', '-m', '0700', d]));
      },
    },
    {
      id: 'srv.platform-env',
      title: `${SRV.env} (mode 600): admin, Redis and image settings merged in`,
      doc: 'Sets `POSTGRES_USER`, `POSTGRES_PASSWORD`, `REDIS_PASSWORD` and the three image names; every other line (the applications\' passwords, comments) is kept. Written to a temporary file of mode 600 and renamed over the old one, so it is never half-written or readable by others.',
      async check({ exec, config }) {
        const d = await drifts(exec, [envSpec(mergeEnv(await readPlatformEnv(exec), platformKeys(config)))]);
        return d.length ? { done: false, reason: d.join('; ').replace(SRV.env, 'platform.env') } : ok('keys set, mode 600');
      },
      async apply({ exec, config }) {
        await ensureFile(exec, envSpec(mergeEnv(await readPlatformEnv(exec), platformKeys(config))));
      },
    },
    {
      id: 'srv.service-files',
      title: 'Compose file, PgBouncer config and userlist, Redis config (from platform.env)',
      doc: `\`${SRV.compose}\` (the project's \`compose/central-db/compose.yaml\`), \`${SRV.pgbouncer}/pgbouncer.ini\` (transaction pooling, SCRAM), \`${SRV.pgbouncer}/userlist.txt\` generated from platform.env (the admin and every \`<APP>_DB_USER\`/\`<APP>_DB_PASSWORD\` pair), and \`${SRV.redisConf}\` with \`requirepass\`. A running PgBouncer reloads (SIGHUP); a running Redis restarts for a new config.`,
      // From platform.env as the previous step leaves it (so a dry run plans the same files).
      async check({ exec, config }) {
        const env = mergeEnv(await readPlatformEnv(exec), platformKeys(config));
        const d = await drifts(exec, [composeSpec(), ...derivedFiles(env)]);
        return d.length ? { done: false, reason: d.join('; ') } : ok('files match platform.env');
      },
      async apply({ exec, config, log }) {
        await ensureFile(exec, composeSpec());
        await syncDerived(exec, mergeEnv(await readPlatformEnv(exec), platformKeys(config)), log);
      },
    },
    serviceStep(
      'up.postgres',
      CONTAINERS.postgres,
      'PostgreSQL 17 (pgvector) up and healthy',
      '`docker compose up -d postgres-db`, then waits for its `pg_isready` healthcheck (over TCP, so the first initialisation\'s socket-only server does not count).',
      async () => null,
      async () => {},
    ),
    adminPasswordStep(),
    serviceStep(
      'up.pgbouncer',
      CONTAINERS.pgbouncer,
      'PgBouncer up, and a query runs through the pool',
      'Starts only after PostgreSQL is healthy; its healthcheck is the seed\'s `nc -z` (the image has no `pg_isready`), and the gate is stronger: `SELECT 1` as the admin through `pgbouncer:6432` (SCRAM, transaction pooling), the password on stdin.',
      (exec, c) => poolLogin(exec, c.adminUser, c.adminPassword, 'postgres'),
      (exec, c) => waitPool(exec, c.adminUser, c.adminPassword, 'postgres', c.gateDeadlineMs),
    ),
    serviceStep(
      'up.redis',
      CONTAINERS.redis,
      'Redis up, answering with its password and refusing without',
      'Starts after PgBouncer passed its gate; the gate is `PING` -> `PONG` with the password (REDISCLI_AUTH from stdin) and a refusal (`NOAUTH`) without it.',
      (exec, c) => redisGate(exec, c),
      async (exec, c) => {
        await waitFor(
          async () => {
            const why = await redisGate(exec, c);
            return why === null ? { done: true, value: undefined } : { done: false, reason: why };
          },
          { what: 'Redis answering with auth', deadlineMs: c.gateDeadlineMs, initialDelayMs: 1_000, maxDelayMs: 5_000, host: exec.host, hint: 'docker logs --tail 50 redis' },
        );
      },
    ),
  ];
}

export async function redisGate(exec: Executor, c: CentralDbConfig): Promise<string | null> {
  const withAuth = await exec.run(redisCli(c.redisPassword, ['PING']));
  if (withAuth.stdout.trim() !== 'PONG') return `PING with the password: ${withAuth.stdout.trim() || withAuth.stderr.trim()}`;
  const without = await exec.run(redisCli(null, ['PING']));
  if (!/NOAUTH/.test(without.stdout + without.stderr)) throw new RunbookError('stepFailed', `Redis answers without a password (${without.stdout.trim()})`, { host: exec.host, hint: `check requirepass in ${SRV.redisConf}` });
  return null;
}

/** The superuser's password as platform.env says (after a first init or a restore of the globals). */
export function adminPasswordStep(): Step<CentralDbConfig> {
  return {
    id: 'up.admin-password',
    title: 'The superuser\'s password in PostgreSQL is the one in platform.env',
    doc: 'The image sets `POSTGRES_PASSWORD` only when it initialises an empty data folder, and a restore of the globals brings the old host\'s verifier back: when the server\'s verifier does not match platform.env, `ALTER ROLE` sets it (as a SCRAM verifier computed here, never the plain value).',
    async check({ exec, config }) {
      if ((await exec.run(healthOf(CONTAINERS.postgres))).stdout.trim() !== 'healthy') return { done: false, reason: 'PostgreSQL is not up yet' };
      const v = await roleVerifier(exec, config.adminUser, config.adminUser);
      return v && scramMatches(config.adminPassword.reveal(), v) ? ok('verifier matches platform.env') : { done: false, reason: v ? 'verifier differs from platform.env' : 'no password set' };
    },
    async apply({ exec, config }) {
      await exec.run(psql(config.adminUser, 'postgres', setPasswordSql(config.adminUser, config.adminPassword.reveal())));
    },
  };
}
