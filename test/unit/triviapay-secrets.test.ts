// triviapay.secrets, triviapay.rotate-ocir-token, triviapay.verify and triviapay.smoke against the
// stand-ins. Secrets: a canary value must never appear in `ps` (polled all through the run), in
// the runbook's output, in the CLI calls, or in any file but its destination (the stand-in Vault).
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { brokenAssets } from '../integration/runbook-cli.ts';
import { IDS } from '../standins/oci/cloud-seed.ts';
import { updateState } from '../standins/oci/cloud-state.ts';
import { ROOT, type World, finished, poolSummary, runbook, startWorld } from './triviapay-world.ts';

let worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop();
});
const world = async (o: Parameters<typeof startWorld>[0]) => {
  const w = await startWorld(o);
  worlds.push(w);
  return w;
};

/** Every process's argv, sampled every 20 ms until stopped. */
function watchPs() {
  const seen = new Set<string>();
  let on = true;
  const loop = (async () => {
    while (on) {
      const r = await execa('ps', ['-eo', 'args'], { reject: false });
      for (const l of String(r.stdout).split('\n')) seen.add(l);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return async () => {
    on = false;
    await loop;
    return [...seen].join('\n');
  };
}

/** Files under a folder; entries that vanish while it is read (the cloud's lock) are skipped. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const st = statSync(p, { throwIfNoEntry: false });
    return !st ? [] : st.isDirectory() ? filesUnder(p) : [p];
  });
}

const forms = (v: string) => [v, Buffer.from(v).toString('base64')];
function expectNowhere(canaries: string[], places: Record<string, string>) {
  for (const [where, text] of Object.entries(places)) for (const c of canaries) expect(text.includes(c), `${c.slice(0, 12)}… found in ${where}`).toBe(false);
}

describe('triviapay secrets, token rotation, verify, smoke', { timeout: 600_000 }, () => {
  it('puts .env.production and the OCIR token into Vault with no trace outside it, then finds them unchanged', async () => {
    const w = await world({ size: 1, tag: 'A' });
    const tmp = mkdtempSync(join(tmpdir(), 'triviapay-run-tmp-'));
    const envProd = join(mkdtempSync(join(tmpdir(), 'triviapay-app-')), '.env.production');
    const appCanary = 'CANARY-ENV-7f3a91c2';
    const tokCanary = 'CANARY-TOK-91be(;<]#.x';
    const appEnv = `DATABASE_URL=postgres://app:${appCanary}@db.internal/trivia\nPORT=${w.port}\n`;
    writeFileSync(envProd, appEnv, { mode: 0o600 });
    const env = w.env({ APP_ENV_FILE: envProd, APP_ENV_SECRET_ID: IDS.appEnvSecret, OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret, OCIR_AUTH_TOKEN: tokCanary.replace(/"/g, '') });
    const stopPs = watchPs();
    const r = await finished(runbook(w, 'triviapay.secrets', env, { TMPDIR: tmp }));
    const ps = await stopPs();
    expect(r.exitCode, r.stderr).toBe(0);
    const vault = w.state().secrets;
    expect(Buffer.from(vault[IDS.appEnvSecret]?.versions.at(-1)?.content ?? '', 'base64').toString()).toBe(appEnv);
    expect(Buffer.from(vault[IDS.ocirTokenSecret]?.versions.at(-1)?.content ?? '', 'base64').toString()).toBe(tokCanary);
    const canaries = [...forms(appCanary), ...forms(tokCanary), Buffer.from(appEnv).toString('base64')];
    expect(ps).toContain('--from-json file://');
    const others = [...filesUnder(tmp), ...filesUnder(w.root).filter((f) => !f.endsWith('cloud.json') && !f.endsWith('.env'))];
    expectNowhere(canaries, { ps, stdout: r.stdout, stderr: r.stderr, ...Object.fromEntries(others.map((f) => [f, readFileSync(f, 'latin1')])) });
    expect(filesUnder(tmp)).toEqual([]);
    const again = await finished(runbook(w, 'triviapay.secrets', env, { TMPDIR: tmp }));
    expect(again.exitCode).toBe(0);
    expect(again.events.filter((e) => e.type === 'step-unchanged').map((e) => (e as { reason: string }).reason).join('\n')).toMatch(/app env: Vault version 2 matches/);
  });

  it('rotates the OCIR token: new token into Vault unseen, instances replaced with user-data rendered afresh, old token deleted; two tokens stop it', async () => {
    const w = await world({ size: 1, tag: 'A' });
    const tmp = mkdtempSync(join(tmpdir(), 'triviapay-run-tmp-'));
    updateState(w.root, (s) => {
      for (const id of ['ocid1.credential.oc1..old1', 'ocid1.credential.oc1..old2']) s.authTokens[id] = { id, userId: IDS.user, description: 'made by hand', token: 'old', lifecycleState: 'ACTIVE', timeCreated: new Date().toISOString() };
    });
    const env = w.env({ OCIR_USER_ID: IDS.user, OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret });
    const refused = await finished(runbook(w, 'triviapay.rotate-ocir-token', env, { TMPDIR: tmp }));
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toMatch(/already has two auth tokens.*ocid1\.credential\.oc1\.\.old1 \(not in Vault\).*ocid1\.credential\.oc1\.\.old2 \(not in Vault\)/s);
    expect(refused.stderr).toMatch(/DELETE_TOKEN_ID=ocid1\.credential\.oc1\.\.old1/);

    // A changed template and a changed setting since the pool's configuration was made: the
    // rotation's configuration must carry them, rendered as `runbook user-data` renders them.
    const template = readFileSync(join(ROOT, 'cloud-init/triviapay.yaml'), 'utf8').replace('\nwrite_files:', '\n# template of the next release\nwrite_files:');
    const assets = brokenAssets('cloud-init/triviapay.yaml', template);
    const rotEnv = w.env({ OCIR_USER_ID: IDS.user, OCIR_AUTH_TOKEN_SECRET_ID: IDS.ocirTokenSecret, DELETE_TOKEN_ID: 'ocid1.credential.oc1..old1', BOOT_DEADLINE_SECONDS: '900' });
    const stopPs = watchPs();
    const r = await finished(runbook(w, 'triviapay.rotate-ocir-token', rotEnv, { TMPDIR: tmp, RUNBOOK_ASSETS_DIR: assets }));
    const ps = await stopPs();
    expect(r.exitCode, r.stderr + r.stdout.slice(-2000)).toBe(0);
    const s = w.state();
    const active = Object.values(s.authTokens).filter((t) => t.lifecycleState === 'ACTIVE');
    expect(active).toHaveLength(1);
    const token = active[0]?.token as string;
    const v = s.secrets[IDS.ocirTokenSecret]?.versions.at(-1);
    expect(Buffer.from(v?.content ?? '', 'base64').toString()).toBe(token);
    const pool = poolSummary(s);
    expect(pool).toMatchObject({ size: 1, images: ['A'], orphans: [], drained: [] });
    const cfg = s.configs[s.pools[IDS.pool]?.instanceConfigurationId as string];
    const metadata = (cfg?.instanceDetails.launchDetails as { metadata: Record<string, string> }).metadata;
    expect(metadata.triviapay_ocir_token_id).toBe(active[0]?.id);
    expect(metadata.triviapay_image_tag).toBe('A');
    const rendered = await execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), 'user-data', 'triviapay.rollout', '--env', rotEnv], { env: { RUNBOOK_ASSETS_DIR: assets }, stripFinalNewline: false });
    expect(String(rendered.stdout)).toContain('# template of the next release\n');
    const bootEnv = (parseYaml(String(rendered.stdout)) as { write_files: { path: string; content: string }[] }).write_files.find((f) => f.path === '/etc/triviapay/boot.env');
    expect(Buffer.from(bootEnv?.content ?? '', 'base64').toString()).toContain("BOOT_DEADLINE_SECONDS='900'\n");
    expect(Buffer.from(metadata.user_data ?? '', 'base64').toString()).toBe(String(rendered.stdout));
    const others = [...filesUnder(tmp), ...filesUnder(w.root).filter((f) => !f.endsWith('cloud.json') && !f.endsWith('.env'))];
    expectNowhere(forms(token), { ps, stdout: r.stdout, stderr: r.stderr, ...Object.fromEntries(others.map((f) => [f, readFileSync(f, 'latin1')])) });
  });

  it('verify: auth, a versioned state bucket with the state, backends = pool instances, one port; a PORT in Vault that differs fails', async () => {
    const w = await world({ size: 2, tag: 'A' });
    const oci = (args: string[]) => execa(join(w.bin, 'oci'), args, { env: { PATH: process.env.PATH, OCI_STANDIN_ROOT: w.root }, extendEnv: false });
    await oci(['os', 'bucket', 'create', '--name', 'triviapay-tfstate', '--compartment-id', IDS.compartment, '--versioning', 'Enabled']);
    const f = join(w.root, 'state.tfstate');
    writeFileSync(f, '{"version":4}');
    await oci(['os', 'object', 'put', '--bucket-name', 'triviapay-tfstate', '--name', 'triviapay/terraform.tfstate', '--file', f, '--force']);
    const env = w.env({ STATE_BUCKET: 'triviapay-tfstate', APP_ENV_SECRET_ID: IDS.appEnvSecret });
    const ok = await finished(runbook(w, 'triviapay.verify', env));
    expect(ok.exitCode, ok.stderr).toBe(0);
    const reasons = ok.events.filter((e) => e.type === 'step-unchanged').map((e) => (e as { reason: string }).reason);
    expect(reasons).toEqual([expect.stringMatching(/namespace standin-ns/), expect.stringMatching(/versioning Enabled, triviapay\/terraform.tfstate present/), `2 backend(s) = the pool's 2 instance(s) on port ${w.port}`, expect.stringMatching(new RegExp(`backend port ${w.port}, app PORT ${w.port} \\(PORT unset`))]);
    updateState(w.root, (s) => {
      s.secrets[IDS.appEnvSecret]?.versions.push({ number: 9, content: Buffer.from('PORT=9999\n').toString('base64'), timeCreated: new Date().toISOString() });
    });
    const bad = await finished(runbook(w, 'triviapay.verify', env));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/sets PORT=9999 but the backend port is \d+/);
  });

  it('smoke: the health URL through the load balancer answers 200 healthy; an unhealthy one fails with its answer', async () => {
    const w = await world({ size: 1, tag: 'A' });
    const ok = await finished(runbook(w, 'triviapay.smoke', w.env({ HEALTHCHECK_URL: `${w.lbUrl}/health` })));
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await finished(runbook(w, 'triviapay.smoke', w.env({ HEALTHCHECK_URL: `${w.lbUrl}/nothing` })));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/answered 200 .* \(expected 200 and status "healthy"\)/);
  });
});
