// Makes cloud-init's schema check available without installing cloud-init (which would run at
// this machine's next boot): Debian 13's package (25.1, which also rejects unknown keys, where
// Debian 12's 22.4 does not) unpacked into the cache, run with Debian's /usr/bin/python3 (its shebang) and the
// libraries (scripts/host-packages.txt). Prints the unpacked root as the last line of stdout;
// the validator runs ROOT/usr/bin/cloud-init with PYTHONPATH=ROOT/usr/lib/python3/dist-packages.
// A later run only checks the tools/cloud-init link.
import { $, fs, path } from 'zx';
import { fetchDebianPackage, runScript, swapLink, toolsDir } from './lib/debian-package.ts';

/** `cloud-init --version` from an unpacked root; throws when it does not run here. */
export async function checkCloudInit(root: string): Promise<void> {
  const r = await $({ quiet: true, nothrow: true, timeout: '60s', env: { ...process.env, PYTHONPATH: path.join(root, 'usr/lib/python3/dist-packages') } })`/usr/bin/python3 ${path.join(root, 'usr/bin/cloud-init')} --version`;
  if (!r.ok) throw new Error(`fetch-cloud-init: cloud-init from ${root} does not run on this machine: ${r.stderr.trim().split('\n').slice(-2).join(' ')} (are python3-yaml, python3-jsonschema, python3-jinja2, python3-configobj, python3-jsonpatch and python3-requests installed? npm run setup)`);
}

runScript(async () => {
  const link = path.join(toolsDir(), 'cloud-init');
  let root = fs.existsSync(link) ? await fs.realpath(link) : '';
  if (!root || !(await checkCloudInit(root).then(() => true, () => false))) {
    const got = await fetchDebianPackage({ pkg: 'cloud-init', suite: 'trixie', who: 'fetch-cloud-init', check: checkCloudInit });
    await swapLink('cloud-init', `${path.basename(got.dir)}/root`);
    root = got.kept;
  }
  process.stdout.write(`${root}\n`);
});
