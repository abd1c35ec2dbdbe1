// The Caddyfile for app., api., cdn.: production (ACME) and test (local CA) differ only in the
// issuer line, and both pass `caddy validate` (Debian's caddy).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { exampleValues } from '../../lib/config/schema.ts';
import { gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { caddyfile } from '../../runbooks/gratonite/env-files.ts';
import { caddyBin } from './test-servers.ts';

const c = gratoniteConfig.build(exampleValues(gratoniteConfig));
const acme = caddyfile({ ...c, tlsIssuer: 'acme', acmeEmail: 'ops@example.com' });
const local = caddyfile({ ...c, tlsIssuer: 'local' });

async function validate(text: string) {
  const d = mkdtempSync(join(tmpdir(), 'caddy-'));
  writeFileSync(join(d, 'Caddyfile'), text);
  // Caddy's storage and config under the scratch folder, never the machine's.
  return execa(caddyBin(), ['validate', '--adapter', 'caddyfile', '--config', join(d, 'Caddyfile')], { reject: false, timeout: 60_000, env: { HOME: d, XDG_DATA_HOME: d, XDG_CONFIG_HOME: d } });
}

describe('gratonite Caddyfile', () => {
  it('production and test differ only in the issuer of the global options', () => {
    const a = acme.split('\n');
    const b = local.split('\n');
    const changed = [...a.filter((l) => !b.includes(l)), ...b.filter((l) => !a.includes(l))].map((l) => l.trim());
    expect(changed.sort()).toEqual(['email ops@example.com', 'local_certs', 'skip_install_trust'].sort());
  });

  it('serves the three names with HSTS, the API (Socket.IO on the same origin) and only the files route on cdn.', () => {
    expect(local).toMatch(/^app\.chat\.example\.com \{[^}]*reverse_proxy 127\.0\.0\.1:8080/m);
    expect(local).toMatch(/^api\.chat\.example\.com \{[\s\S]*?reverse_proxy 127\.0\.0\.1:4000/m);
    expect(local).toMatch(/^cdn\.chat\.example\.com \{\n\timport common\n\thandle \/api\/v1\/files\/\* \{\n\t\treverse_proxy 127\.0\.0\.1:4000\n\t\}\n\thandle \{\n\t\trespond "not found" 404/m);
    expect(local).toMatch(/Strict-Transport-Security "max-age=31536000; includeSubDomains"/);
  });

  it.each([['acme', acme], ['local', local]])('caddy validate accepts the %s variant', async (_n, text) => {
    const r = await validate(text);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/enabling automatic HTTP->HTTPS redirects/);
  }, 60_000);

  it('caddy validate refuses a broken one (the validator can fail)', async () => {
    const r = await validate(local.replace('reverse_proxy 127.0.0.1:8080', 'reverse_proxy 127.0.0.1:8080 {'));
    expect(r.exitCode).not.toBe(0);
  }, 60_000);
});
