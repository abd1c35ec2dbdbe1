// The Debian mirror this machine's apt already uses (the URI of the first enabled `deb` source for
// its own release, from one-line .list and deb822 .sources files), so image builds go through it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';

function codename(): string {
  const os = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME="?([a-z]+)"?$/m.exec(os)?.[1] ?? 'bookworm';
}

/** Parses one sources file's text; returns the URI serving `suite` with type deb, if any. */
export function mirrorIn(text: string, deb822: boolean, suite: string): string | undefined {
  if (!deb822) {
    for (const line of text.split('\n')) {
      const f = line.replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
      if (f[0] === 'deb' && f[2] === suite && f[1]) return f[1];
    }
    return undefined;
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(stanza.replace(/^#.*$/gm, ''))?.[1]?.trim() ?? '';
    if (!field('Types').split(/\s+/).includes('deb') || field('Enabled').toLowerCase() === 'no') continue;
    if (field('Suites').split(/\s+/).includes(suite)) return field('URIs').split(/\s+/)[0];
  }
  return undefined;
}

/** RUNBOOK_DEBIAN_MIRROR, else the machine's mirror, else deb.debian.org. */
export function debianMirror(): string {
  const env = process.env.RUNBOOK_DEBIAN_MIRROR ?? process.env.DEBIAN_MIRROR;
  if (env) return env.replace(/\/$/, '');
  const suite = codename();
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const f of files) {
    if (!existsSync(f) || !/\.(list|sources)$/.test(f)) continue;
    const uri = mirrorIn(readFileSync(f, 'utf8'), f.endsWith('.sources'), suite);
    if (uri) return uri.replace(/\/$/, '');
  }
  return 'http://deb.debian.org/debian';
}
