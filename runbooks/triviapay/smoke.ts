import { randomBytes } from 'node:crypto';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Step } from '../../lib/engine/types.ts';
import { need, type TriviapayConfig } from './config.ts';

/** One GET that no cache can answer: a unique query and no-cache headers; bounded. */
export async function freshGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  u.searchParams.set('smoke', `${Date.now()}-${randomBytes(4).toString('hex')}`);
  try {
    const r = await fetch(u, { headers: { 'cache-control': 'no-cache, no-store', pragma: 'no-cache' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    return { status: r.status, body: (await r.text()).slice(0, 2000) };
  } catch (e) {
    throw new RunbookError('stepFailed', `GET ${url} failed: ${(e as Error).message}`, { hint: 'is the load balancer reachable from here? curl -sv the URL' });
  }
}

export function smokeSteps(): Step<TriviapayConfig>[] {
  return [
    {
      id: 'triviapay.smoke-health',
      title: 'HEALTHCHECK_URL answers 200 with status healthy',
      doc: 'TriviaPay\'s `/health` answers `{"status":"healthy"}` (it checks nothing behind it); the request carries a unique query and no-cache headers so Cloudflare or any cache cannot answer for the app.',
      async check(ctx) {
        need(ctx.config, 'triviapay.smoke', ['healthcheckUrl']);
        const r = await freshGet(ctx.config.healthcheckUrl, ctx.config.smokeTimeoutSeconds * 1000);
        let status: unknown;
        try {
          status = (JSON.parse(r.body) as { status?: unknown }).status;
        } catch {
          status = undefined;
        }
        if (r.status !== 200 || status !== 'healthy') throw new RunbookError('stepFailed', `${ctx.config.healthcheckUrl} answered ${r.status} ${r.body.slice(0, 200)} (expected 200 and status "healthy")`, { hint: 'check the backends: runbook run triviapay.verify --target local --env ...' });
        return { done: true, reason: `${ctx.config.healthcheckUrl}: 200 status healthy` };
      },
      apply: async () => undefined,
    },
    {
      id: 'triviapay.smoke-db',
      title: 'HEALTHCHECK_DB_URL answers 200 (when set)',
      async check(ctx) {
        if (!ctx.config.healthcheckDbUrl) return { done: true, reason: 'HEALTHCHECK_DB_URL is not set' };
        const r = await freshGet(ctx.config.healthcheckDbUrl, ctx.config.smokeTimeoutSeconds * 1000);
        if (r.status !== 200) throw new RunbookError('stepFailed', `${ctx.config.healthcheckDbUrl} answered ${r.status} ${r.body.slice(0, 200)}`, { hint: 'the app is up but its database call fails: check DATABASE_URL in the app env secret' });
        return { done: true, reason: `${ctx.config.healthcheckDbUrl}: 200` };
      },
      apply: async () => undefined,
    },
  ];
}
