// Makes Debian's nginx binary available to the nginx config test without installing the package
// (installing it would start a server on this machine): nginx and nginx-common of this machine's
// release are downloaded (scripts/lib/debian-package.ts) and unpacked together into
// ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/nginx/root/, and the last line of stdout
// is the binary's path.
import { $, fs, path } from 'zx';
import { fail, machineCodename, runScript, toolsDir, withDebianSuite } from './lib/debian-package.ts';

const who = 'fetch-nginx';
const nginxRuns = async (bin: string) => fs.existsSync(bin) && (await $({ quiet: true, nothrow: true, timeout: '30s' })`${bin} -v`).ok;

runScript(async () => {
  const dest = path.join(toolsDir(), 'nginx');
  const bin = path.join(dest, 'root/usr/sbin/nginx');
  if (!(await nginxRuns(bin))) {
    const suite = (await machineCodename()) ?? fail(who, 'no VERSION_CODENAME in /etc/os-release; this needs a Debian machine');
    await withDebianSuite({ suite, who }, async (s) => {
      process.stderr.write(`${who}: downloading nginx and nginx-common (${suite}, ${s.arch}) into ${dest}\n`);
      const debs = await s.download(['nginx', 'nginx-common']);
      const next = path.join(dest, 'root.new');
      await fs.rm(next, { recursive: true, force: true });
      await fs.mkdirp(next);
      for (const d of debs) await $`dpkg-deb -x ${d} ${next}`.quiet();
      await fs.rm(path.join(dest, 'root'), { recursive: true, force: true });
      await fs.rename(next, path.join(dest, 'root'));
    });
    const v = await $({ quiet: true, nothrow: true, timeout: '30s' })`${bin} -v`;
    process.stderr.write(v.stderr);
    if (!v.ok) fail(who, 'the unpacked nginx does not run');
  }
  process.stdout.write(`${bin}\n`);
});
