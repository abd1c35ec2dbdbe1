// The timer and service that run cf-allowlist daily pass systemd's own checks, rendered as the
// app host's runbook installs them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../lib/core/assets.ts';
import * as v from '../assets/validators.ts';

const unit = (n: string) => renderTemplate(readFileSync(new URL(`../../systemd/${n}`, import.meta.url), 'utf8'), { CF_IPS_URL: 'https://api.cloudflare.com/client/v4/ips' }, n);

describe('cf-allowlist units', () => {
  it.each(['cf-allowlist.service', 'cf-allowlist.timer'])('systemd-analyze verify accepts %s without a warning', async (n) => {
    const r = await v.systemdUnit(n, unit(n));
    expect(r.ok, r.output).toBe(true);
  });

  // Root with CAP_NET_ADMIN (nft) and nginx -t: above the 2.0 of a plain service, held at 2.5.
  it('systemd-analyze security rates the service at most 2.5', async () => {
    const r = await v.systemdExposure('cf-allowlist.service', unit('cf-allowlist.service'));
    expect(r.score, r.output).toBeLessThanOrEqual(2.5);
  });

  it('the service refreshes from the configured URL and keeps nginx in step', () => {
    expect(unit('cf-allowlist.service')).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/familycart\/tools\/cf-allowlist\.mjs refresh --url https:\/\/api\.cloudflare\.com\/client\/v4\/ips --nginx-file \/etc\/nginx\/conf\.d\/cloudflare-realip\.conf$/m);
  });
});
