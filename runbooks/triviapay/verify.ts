import { RunbookError } from '../../lib/core/errors.ts';
import type { Step, StepContext } from '../../lib/engine/types.ts';
import { need, type TriviapayConfig } from './config.ts';
import { Oci } from './oci.ts';
import { PoolApi, isLive } from './pool.ts';
import { currentSecret } from './vault.ts';

type Ctx = StepContext<TriviapayConfig>;

/** A read-only check as a step: it passes (unchanged, with what it saw) or fails with what differs. */
function check(id: string, title: string, run: (ctx: Ctx) => Promise<string>): Step<TriviapayConfig> {
  return { id, title, check: async (ctx) => ({ done: true, reason: await run(ctx) }), apply: async () => undefined };
}

export function verifySteps(): Step<TriviapayConfig>[] {
  return [
    check('triviapay.verify-auth', 'OCI auth works (os ns get)', async (ctx) => {
      const ns = await new Oci(ctx.exec, ctx.config).data<string>(['os', 'ns', 'get']);
      return `authenticated; namespace ${ns}`;
    }),
    check('triviapay.verify-state-bucket', 'The Terraform state bucket is versioned and holds the state', async (ctx) => {
      const c = ctx.config;
      if (!c.stateBucket) return 'STATE_BUCKET is not set: skipped';
      const oci = new Oci(ctx.exec, c);
      const ns = c.stateNamespace ? ['--namespace-name', c.stateNamespace] : [];
      const b = await oci.data<Record<string, unknown>>(['os', 'bucket', 'get', '--bucket-name', c.stateBucket, ...ns]);
      if (b?.versioning !== 'Enabled') throw new RunbookError('stepFailed', `bucket ${c.stateBucket} has versioning ${String(b?.versioning)}: an overwritten or deleted state could not be recovered`, { hint: `oci os bucket update --bucket-name ${c.stateBucket} --versioning Enabled` });
      const objs = await oci.list<{ name: string }>(['os', 'object', 'list', '--bucket-name', c.stateBucket, ...(c.stateNamespace ? ['--namespace', c.stateNamespace] : []), '--prefix', c.stateObject, '--all']);
      if (!objs.some((o) => o.name === c.stateObject)) throw new RunbookError('stepFailed', `bucket ${c.stateBucket} holds no ${c.stateObject}`, { hint: 'run terraform init with this backend, then terraform apply' });
      return `bucket ${c.stateBucket}: versioning Enabled, ${c.stateObject} present`;
    }),
    check('triviapay.verify-backends', 'The load balancer\'s backends are exactly the pool\'s instances (ip:port)', async (ctx) => {
      const c = ctx.config;
      need(c, 'triviapay.verify', ['poolId', 'compartmentId', 'lbId']);
      const api = new PoolApi(new Oci(ctx.exec, c), c);
      const members = (await api.members()).filter(isLive);
      const want = new Set<string>();
      for (const m of members) {
        const ip = await api.privateIp(m.id);
        want.add(ip ? `${ip}:${c.backendPort}` : `${m.id} (no IP yet)`);
      }
      const have = new Set((await api.backends()).map((b) => b.name));
      const missing = [...want].filter((x) => !have.has(x));
      const extra = [...have].filter((x) => !want.has(x));
      if (missing.length || extra.length) throw new RunbookError('stepFailed', `backends and pool differ: ${missing.length ? `no backend for ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `backends with no pool instance: ${extra.join(', ')}` : ''}`, { hint: `compare: oci lb backend list --load-balancer-id ${c.lbId} --backend-set-name ${c.backendSet}; check BACKEND_PORT and VNIC_SUBNET_ID` });
      return `${have.size} backend(s) = the pool's ${members.length} instance(s) on port ${c.backendPort}`;
    }),
    check('triviapay.verify-port', 'Backend port = BACKEND_PORT = the app\'s PORT', async (ctx) => {
      const c = ctx.config;
      const oci = new Oci(ctx.exec, c);
      const bs = await oci.data<Record<string, unknown>>(['lb', 'backend-set', 'get', '--load-balancer-id', c.lbId, '--backend-set-name', c.backendSet]);
      const ports = new Set(((bs?.backends ?? []) as { port: number }[]).map((b) => b.port));
      const hc = Number((bs?.['health-checker'] as { port?: number } | undefined)?.port ?? 0);
      const bad = [...ports].filter((p) => p !== c.backendPort);
      if (bad.length || (hc && hc !== c.backendPort)) throw new RunbookError('stepFailed', `backend set ${c.backendSet} uses port(s) ${[...ports].join(', ')} (health check ${hc || 'traffic port'}), BACKEND_PORT is ${c.backendPort}`, { hint: 'treat Terraform backend_port as the truth: re-apply Terraform' });
      let appPort = `${c.backendPort} (PORT unset: cloud-init adds PORT=${c.backendPort})`;
      if (c.appEnvSecretId) {
        const env = (await currentSecret(oci, c.appEnvSecretId)).content.reveal();
        const m = /^\s*PORT\s*=\s*["']?(\d+)["']?\s*$/m.exec(env);
        if (m && Number(m[1]) !== c.backendPort) throw new RunbookError('stepFailed', `the app env secret sets PORT=${m[1]} but the backend port is ${c.backendPort}: the load balancer would find nothing listening`, { hint: 'remove PORT from .env.production (cloud-init sets it) or set it to the backend port, then run triviapay.secrets and triviapay.rollout' });
        if (m) appPort = String(m[1]);
      }
      return `backend port ${c.backendPort}, app PORT ${appPort}`;
    }),
  ];
}
