// Makes the servers the Gratonite tests run for real available without installing their Debian
// packages (a package install would start Caddy on port 80 and coturn at boot on the operator's
// machine): caddy and coturn from this machine's release, unpacked into the cache and linked as
// tools/caddy and tools/coturn. coturn's libraries come from scripts/host-packages.txt.
// Prints each unpacked root, one line each. A later run only checks the links.
import { $, fs, path } from 'zx';
import { fetchDebianPackage, runScript, swapLink, toolsDir } from './lib/debian-package.ts';

const SUITE = 'bookworm';
const servers = [
  { pkg: 'caddy', bin: 'usr/bin/caddy', args: ['version'] },
  { pkg: 'coturn', bin: 'usr/bin/turnserver', args: ['--version'] },
];

runScript(async () => {
  for (const s of servers) {
    /** The binary runs here (its libraries are installed); throws otherwise. */
    const check = async (root: string): Promise<void> => {
      const r = await $({ quiet: true, nothrow: true, timeout: '30s' })`${path.join(root, s.bin)} ${s.args}`;
      if (r.exitCode === 127 || /error while loading shared libraries/.test(r.stderr)) {
        throw new Error(`fetch-test-servers: ${s.bin} from ${root} does not run here: ${r.stderr.trim().split('\n').slice(-1)[0]} (npm run setup installs its libraries)`);
      }
    };
    const link = path.join(toolsDir(), s.pkg);
    let root = fs.existsSync(link) ? await fs.realpath(link) : '';
    if (!root || !(await check(root).then(() => true, () => false))) {
      const got = await fetchDebianPackage({ pkg: s.pkg, suite: SUITE, who: 'fetch-test-servers', check });
      await swapLink(s.pkg, `${path.basename(got.dir)}/root`);
      root = got.kept;
    }
    process.stdout.write(`${root}\n`);
  }
});
