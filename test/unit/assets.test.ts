import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exampleValues } from '../../lib/config/schema.ts';
import { RUNBOOKS } from '../../lib/cli/registry.ts';
import type { RenderedAsset } from '../../lib/engine/types.ts';
import * as v from '../assets/validators.ts';

const fixture = (f: string) => readFileSync(new URL(`../fixtures/${f}`, import.meta.url), 'utf8');
const broken = (f: string) => fixture(`broken/${f}`);
// The first compose check may download Compose v2 (scripts/fetch-compose.ts bounds each step).
const composeTimeout = 600_000;

/** Every asset every runbook installs, rendered with the example values of its config. */
async function renderedAssets(): Promise<(RenderedAsset & { runbook: string })[]> {
  const out: (RenderedAsset & { runbook: string })[] = [];
  for (const e of RUNBOOKS) {
    const rb = await e.load();
    if (!rb.assets) continue;
    for (const a of rb.assets(rb.config.build(exampleValues(rb.config)))) out.push({ ...a, runbook: rb.name });
  }
  return out;
}

const assets = await renderedAssets();
const ofKind = (k: RenderedAsset['kind']) => assets.filter((a) => a.kind === k).map((a) => [`${a.runbook}: ${a.path}`, a] as const);

describe('shipped assets pass the tools that consume them', () => {
  it('there are assets to check', () => {
    expect(assets.length).toBeGreaterThan(0);
  });

  it.each(ofKind('nftables'))('nft -c accepts %s', async (_n, a) => {
    const r = await v.nftables(a.content);
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it.each(ofKind('cloud-init'))('cloud-init schema accepts %s', async (_n, a) => {
    const r = await v.cloudInit(a.content);
    expect(r.ok, r.output).toBe(true);
  }, 600_000);

  it.each(ofKind('compose'))('compose config accepts %s', async (_n, a) => {
    const r = await v.compose(a.content, a.envFile, a.files);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toBe('');
  }, composeTimeout);

  // The distributions' docker.io (Debian 13, Ubuntu 24.04) is older than Docker Engine 25, which
  // refuses to create a container whose healthcheck sets start_interval: compose config accepts it,
  // `up` fails on the host.
  it.each(ofKind('compose'))('%s uses no healthcheck field newer than the distributions\' Docker Engine', (_n, a) => {
    expect(a.content).not.toMatch(/^\s*start_interval:/m);
  });

  // A compose file that needs its env file is refused without it (the seed's --env-file rule).
  it.each(ofKind('compose').filter(([, a]) => a.envFile !== undefined))('compose config refuses %s without its env file', async (_n, a) => {
    const r = await v.compose(a.content);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/required variable \w+ is missing a value/);
  }, composeTimeout);

  // The compose fixture keeps the validator itself proven on one that uses
  // what compose v2 accepts and 1.29 does not (top-level name:, env_file's long form).
  it('compose config accepts the compose fixture', async () => {
    const r = await v.compose(fixture('compose/good.yaml'));
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toBe('');
  }, composeTimeout);

  it.each(ofKind('systemd'))('systemd-analyze verify accepts %s without a warning', async (_n, a) => {
    const r = await v.systemdUnit(a.path, a.content);
    expect(r.ok, r.output).toBe(true);
  });

  // Exposure ceilings (systemd-analyze security, 0 = locked down, 10 = exposed): the server is
  // every service is held to 2.0 unless it states why it needs more.
  // cf-allowlist runs nft (CAP_NET_ADMIN) and nginx -t as root; familycart-backup drives the Docker
  // socket, which is root in all but name.
  const ceilings: Record<string, number> = { 'eventfold-db.service': 2.0, 'cf-allowlist.service': 2.5, 'familycart-backup.service': 3.8 };
  it.each(ofKind('systemd').filter(([, a]) => a.path.endsWith('.service')))('systemd-analyze security rates %s within its ceiling', async (_n, a) => {
    const r = await v.systemdExposure(a.path, a.content);
    expect(r.score, r.output).toBeLessThanOrEqual(ceilings[a.path] ?? 2.0);
  });

  const scripts = ['scripts', 'test/vm', '.ci', 'cloud-init', 'runbooks/central-db/files', 'runbooks/familycart/files', 'runbooks/triviapay/files'].flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.sh') || f === 'run').map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  });
  it.each(scripts)('shellcheck accepts %s', async (p) => {
    const r = await v.shell(p);
    expect(r.ok, r.output).toBe(true);
  });
});

describe('the validators reject a broken asset of each kind', () => {
  it('nftables', async () => {
    const r = await v.nftables(broken('broken.nft'));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/Error/);
  });
  it('cloud-init', async () => {
    const r = await v.cloudInit(broken('user-data'));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/users|runcmd|Invalid/);
  });
  it('cloud-init: an unknown key (Debian 12\'s cloud-init 22.4 let it through; the cached 25.1 does not)', async () => {
    const r = await v.cloudInit('#cloud-config\npackages: [curl]\nruncmd_typo: [true]\n');
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/runcmd_typo/);
  }, 600_000);
  it('systemd', async () => {
    const r = await v.systemdUnit('broken.service', broken('broken.service'));
    expect(r.ok).toBe(false);
  });
  it('systemd exposure', async () => {
    const r = await v.systemdExposure('exposed.service', broken('exposed.service'));
    expect(r.score, r.output).toBeGreaterThan(2.0);
  });
  it('compose', async () => {
    const r = await v.compose(broken('compose.yaml'));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/services\.app.*(must be a list|Additional property enviroment)/);
  }, composeTimeout);
  it('shell', async () => {
    const r = await v.shell(new URL('../fixtures/broken/broken.sh', import.meta.url).pathname);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/SC2045|SC2086|SC2002/);
  });
});

describe('template slots', () => {
  it('a one-line slot refuses a line break or control character; a slot alone on its line takes lines', async () => {
    const { renderTemplate } = await import('../../lib/core/assets.ts');
    expect(() => renderTemplate('LISTEN={{L}}\n', { L: '[::]:2113\nEVENTFOLD_DATA=/var/tmp/x' })).toThrow(/L holds a line break/);
    expect(() => renderTemplate('LISTEN={{L}}\n', { L: 'a\tb' })).toThrow(/control character/);
    expect(renderTemplate('a\n\t{{BLOCK}}\nb\n', { BLOCK: 'x=1\ny=2' })).toBe('a\n\tx=1\ny=2\nb\n');
    expect(() => renderTemplate('{{BLOCK}}\n', { BLOCK: 'x\ry' })).toThrow(/control character/);
  });
});
