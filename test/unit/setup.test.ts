// What setup installs on the operator's machine: tools and libraries, never a service that starts
// on install or at boot; the validators that are services elsewhere come from the cache.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const wanted = readFileSync(new URL('../../scripts/host-packages.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const setup = readFileSync(new URL('../../scripts/setup.sh', import.meta.url), 'utf8');

describe('setup leaves the operator machine alone', () => {
  it('installs no SSH server and no cloud-init (one starts sshd, the other runs at the next boot)', () => {
    expect(wanted).toContain('qemu-system-arm');
    for (const service of ['openssh-server', 'cloud-init', 'docker.io', 'nginx', 'nginx-light', 'caddy', 'coturn']) expect(wanted).not.toContain(service);
  });

  it('fetches cloud-init into the cache instead, and says what it installs before it does, asking only at a terminal outside CI', () => {
    expect(setup).toMatch(/scripts\/fetch-cloud-init\.ts/);
    const say = setup.indexOf('will install these Debian packages');
    const install = setup.indexOf('apt-get install -y');
    expect(say).toBeGreaterThan(0);
    expect(install).toBeGreaterThan(say);
    expect(setup).toMatch(/\[ -t 0 \] && \[ -t 2 \] && \[ -z "\$\{CI:-\}" \]/);
  });
});

describe("the project's own scripts", () => {
  const root = new URL('../../', import.meta.url).pathname;
  const files = readdirSync(join(root, 'scripts'), { recursive: true, encoding: 'utf8' }).map((f) => `scripts/${f}`);

  it('are zx TypeScript, except the shell that runs before the npm packages exist (docs/architecture.md)', () => {
    expect(files.filter((f) => /\.(sh|mjs|js|cjs)$/.test(f)).sort()).toEqual(['scripts/setup.sh', 'scripts/test.sh']);
  });

  it('named by package.json and scripts/test.sh exist', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const named = [...Object.values(pkg.scripts).join(' ').matchAll(/scripts\/[\w./-]+/g), ...readFileSync(join(root, 'scripts/test.sh'), 'utf8').matchAll(/scripts\/[\w./-]+\.(?:ts|sh)/g)].map((m) => m[0]);
    expect(named).toContain('scripts/bench.ts');
    for (const f of named) expect(files, f).toContain(f);
  });
});
