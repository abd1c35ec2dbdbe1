// `familycart.smoke`: from the machine running it, through Cloudflare (or whatever stands in
// front of the app host), the checks that prove the deploy serves: the frontend, the backend's
// health, and a backend route that reads PostgreSQL and Redis over the private link.
import { RunbookError } from '../../lib/core/errors.ts';
import { type Reach, readCa, request } from '../../lib/core/http-client.ts';
import { checks, defineConfig, str } from '../../lib/config/schema.ts';
import type { Step } from '../../lib/engine/types.ts';
import { parseHealth } from './commands.ts';

export interface SmokeConfig {
  publicUrl: string;
  dataPath: string;
  /** Where the checks connect and what they trust (the CA file is read when they run). */
  reach: Omit<Reach, 'ca'> & { caFile: string };
}

export const smokeConfig = defineConfig<SmokeConfig>(
  {
    PUBLIC_URL: { description: 'the site as users reach it (through Cloudflare)', example: 'https://familycart.app', check: (v) => (/^https?:\/\/[\w.-]+(:\d+)?$/.test(v) ? null : 'must be an http(s) origin without a path, e.g. https://familycart.app') },
    SMOKE_DATA_PATH: { description: 'a backend route (behind nginx) whose 200 proves it read PostgreSQL and Redis', example: '/api/v1/ready', check: (v) => (/^\/api\/[\w./-]*$/.test(v) ? null : 'must be a path under /api/ (nginx sends /api/ to the backend)') },
    CHECK_CONNECT_TO: { description: 'connect to this host:port for the public name instead of DNS (like curl --connect-to); empty: DNS', example: '127.0.0.1:8080', optional: true, check: checks.hostPort },
    CHECK_CA_FILE: { description: 'PEM file of one more CA to trust (an origin certificate in a test)', example: './origin-ca.pem', optional: true, check: (v) => (/^[^\0]+\.(crt|pem)$/.test(v) ? null : 'must be a .crt or .pem file') },
    CHECK_TIMEOUT_SECONDS: { description: 'how long each request may take', example: '20', default: '20', check: checks.int(1, 600) },
  },
  (v) => ({
    publicUrl: str(v, 'PUBLIC_URL'),
    dataPath: str(v, 'SMOKE_DATA_PATH'),
    reach: { connectTo: str(v, 'CHECK_CONNECT_TO') || undefined, caFile: str(v, 'CHECK_CA_FILE'), timeoutMs: Number(str(v, 'CHECK_TIMEOUT_SECONDS')) * 1000 },
  }),
);

export interface SmokeLine {
  name: string;
  ok: boolean;
  detail: string;
}

/** The three checks, each one line; a failure of one does not stop the others. */
export async function runSmoke(c: SmokeConfig): Promise<SmokeLine[]> {
  const reach: Reach = { connectTo: c.reach.connectTo, ca: readCa(c.reach.caFile), timeoutMs: c.reach.timeoutMs };
  const one = async (name: string, path: string, judge: (status: number, body: string) => string | null): Promise<SmokeLine> => {
    try {
      const a = await request(`${c.publicUrl}${path}`, reach);
      const body = a.body.toString('utf8');
      const problem = judge(a.status, body);
      return { name, ok: problem === null, detail: problem ?? `${a.status}` };
    } catch (e) {
      return { name, ok: false, detail: (e as Error).message };
    }
  };
  return [
    await one('frontend /', '/', (s) => (s === 200 ? null : `answered ${s}`)),
    await one('backend /health', '/health', (s, b) => {
      if (s !== 200) return `answered ${s}`;
      const h = parseHealth(b);
      return h.ok ? null : h.reason;
    }),
    await one(`backend reaches PostgreSQL and Redis (${c.dataPath})`, c.dataPath, (s, b) => (s === 200 ? null : `answered ${s}: ${b.trim().slice(0, 160)}`)),
  ];
}

export function smokeStep(): Step<SmokeConfig> {
  return {
    id: 'familycart.smoke',
    title: 'Smoke from outside: frontend, backend health, the backend reaching PostgreSQL and Redis',
    doc: [
      'From this machine, through the public name (so through Cloudflare and the app host\'s allowlist):',
      '1. `GET PUBLIC_URL/` answers 200 (nginx -> frontend);',
      '2. `GET PUBLIC_URL/health` answers 200 `status: healthy` (nginx -> backend; a degraded cache passes here with a note, as in a deploy);',
      '3. `GET PUBLIC_URL<SMOKE_DATA_PATH>` answers 200: the backend\'s /health never checks the database, so only a route that reads it proves the private link to PostgreSQL and Redis.',
      'Each check prints one line; the step fails naming every check that failed. Run from a source Cloudflare would not use, every check must fail: the app host admits only Cloudflare.',
    ].join('\n'),
    async check({ exec, config, log }) {
      if (exec.dryRun) return { done: false, reason: `would check ${config.publicUrl}/, /health and ${config.dataPath}` };
      const lines = await runSmoke(config);
      for (const l of lines) log(`${l.ok ? 'ok  ' : 'FAIL'} ${l.name}: ${l.detail}`);
      const failed = lines.filter((l) => !l.ok);
      if (failed.length) throw new RunbookError('stepFailed', `smoke failed: ${failed.map((l) => `${l.name} (${l.detail})`).join('; ')}`, { host: exec.host, hint: 'on the app host: docker compose --project-directory /opt/familycart -f /opt/familycart/app.yaml logs --tail 100; then runbook run familycart.smoke' });
      return { done: true, reason: `all ${lines.length} checks passed` };
    },
    async apply() {},
  };
}
