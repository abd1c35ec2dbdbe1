// Takes a Debian package into the project's cache without installing it: apt downloads it with a
// sources list, lists, cache and status of its own (the machine's apt sources and state are never
// touched), from the Debian mirror the machine already uses, and dpkg-deb unpacks it under
//   ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/deb-PKG_VERSION_ARCH/root/
// Validators that are services elsewhere (cloud-init) or newer than Debian 12's (compose v2) come
// in this way. RUNBOOK_DEBIAN_MIRROR overrides the mirror.
import { $, fs, os, path } from 'zx';

export const toolsDir = () => path.join(process.env.RUNBOOK_CACHE_DIR ?? path.join(os.homedir(), '.cache/oci-arm-runbooks'), 'tools');

const fail = (who: string, msg: string): never => {
  throw new Error(`${who}: ${msg}`);
};

/** The URI of the first enabled deb source that serves this machine's own release, from .list and deb822 .sources files. */
export async function machineMirror(): Promise<string | undefined> {
  const osRelease = await fs.readFile('/etc/os-release', 'utf8').catch(() => '');
  const codename = /^VERSION_CODENAME="?([^"\n]+)"?/m.exec(osRelease)?.[1];
  if (!codename) return undefined;
  const files = ['/etc/apt/sources.list', ...(await fs.readdir('/etc/apt/sources.list.d').catch(() => [] as string[])).map((f: string) => `/etc/apt/sources.list.d/${f}`)];
  for (const f of files) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    if (f.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const w = line.replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
        if (w[0] === 'deb' && w[2] === codename && w[1]) return w[1].replace(/\/$/, '');
      }
    } else if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'im').exec(stanza.split('\n').filter((l: string) => !l.trim().startsWith('#')).join('\n'))?.[1]?.trim() ?? '';
        if (field('Types').split(/\s+/).includes('deb') && field('Enabled').toLowerCase() !== 'no' && field('Suites').split(/\s+/).includes(codename)) {
          const uri = field('URIs').split(/\s+/)[0];
          if (uri) return uri.replace(/\/$/, '');
        }
      }
    }
  }
  return undefined;
}

/** Downloads PKG from SUITE and unpacks it; returns the unpacked root and the version. Reuses an earlier unpack of the same version. */
export async function fetchDebianPackage(o: { pkg: string; suite: string; who: string; check: (root: string) => Promise<void> }): Promise<{ root: string; version: string; dir: string }> {
  const $$ = $({ quiet: true, nothrow: true });
  for (const t of ['apt-get', 'apt-cache', 'dpkg', 'dpkg-deb']) if (!(await $$`command -v ${t}`).ok) fail(o.who, `${t} not found; this needs a Debian machine`);
  const arch = (await $`dpkg --print-architecture`.quiet()).stdout.trim();
  const mirror = process.env.RUNBOOK_DEBIAN_MIRROR?.replace(/\/$/, '') ?? (await machineMirror());
  if (!mirror) fail(o.who, 'no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/; set RUNBOOK_DEBIAN_MIRROR to one (its URI, e.g. http://MIRROR/debian)');
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  if (!fs.existsSync(keyring)) fail(o.who, `${keyring} not found; run: apt-get install debian-archive-keyring`);
  const tools = toolsDir();
  await fs.mkdirp(tools);
  const work = await fs.mkdtemp(path.join(tools, '.fetch.'));
  try {
    for (const d of ['lists/partial', 'cache/archives/partial', 'preferences.d', 'deb']) await fs.mkdirp(path.join(work, d));
    await fs.writeFile(path.join(work, 'status'), '');
    await fs.writeFile(path.join(work, 'sources.list'), `deb [arch=${arch} signed-by=${keyring} target=Packages] ${mirror} ${o.suite} main\n`);
    // Everything apt reads or writes is in `work`; nothing is installed, so downloads run as the caller.
    const apt = [
      '-o', `Dir::Etc::sourcelist=${work}/sources.list`, '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::Etc::preferences=${work}/preferences`, '-o', `Dir::Etc::preferencesparts=${work}/preferences.d`,
      '-o', `Dir::State::Lists=${work}/lists`, '-o', `Dir::Cache=${work}/cache`, '-o', `Dir::State::status=${work}/status`,
      '-o', 'APT::Sandbox::User=root', '-o', 'Acquire::Languages=none',
      '-o', 'Acquire::Retries=2', '-o', 'Acquire::http::Timeout=30', '-o', 'Acquire::https::Timeout=30',
    ];
    const up = await $$({ timeout: '180s' })`apt-get -qq --error-on=any ${apt} update`;
    if (!up.ok) fail(o.who, `apt-get update of ${mirror} ${o.suite} failed or timed out: ${up.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const show = await $$({ timeout: '60s' })`apt-cache ${apt} show --no-all-versions ${o.pkg}`;
    const version = /^Version: (\S+)/m.exec(show.stdout)?.[1] ?? fail(o.who, `${o.pkg} is not in ${mirror} ${o.suite} for ${arch}`);
    const dir = path.join(tools, `deb-${o.pkg}_${version.replaceAll(":", "%3a")}_${arch}`);
    const root = path.join(dir, 'root');
    const ok = fs.existsSync(root) && (await o.check(root).then(() => true, () => false));
    if (!ok) {
      process.stderr.write(`${o.who}: downloading ${o.pkg} ${version} (${o.suite}, ${arch}) into ${dir}\n`);
      const dl = await $$({ timeout: '300s', cwd: path.join(work, 'deb') })`apt-get -qq ${apt} download ${`${o.pkg}=${version}`}`;
      if (!dl.ok) fail(o.who, `apt-get download ${o.pkg}=${version} from ${mirror} failed or timed out: ${dl.stderr.trim().split('\n').slice(-3).join(' ')}`);
      const deb = (await fs.readdir(path.join(work, 'deb'))).find((f: string) => f.endsWith('.deb')) ?? fail(o.who, `apt-get download ${o.pkg}=${version} left no .deb`);
      await fs.mkdirp(path.join(work, 'unpacked'));
      await $`dpkg-deb -x ${path.join(work, 'deb', deb)} ${path.join(work, 'unpacked/root')}`.quiet();
      await o.check(path.join(work, 'unpacked/root'));
      await fs.rm(dir, { recursive: true, force: true });
      // A concurrent run may have put the same version in place first; either copy will do.
      await fs.rename(path.join(work, 'unpacked'), dir).catch(async (e: unknown) => {
        if (!fs.existsSync(root)) throw e;
      });
    }
    return { root, version, dir };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Points tools/NAME at TARGET in one rename, so a concurrent reader sees the old target or the new one. */
export async function swapLink(name: string, target: string): Promise<void> {
  const tmp = path.join(toolsDir(), `.${name}.${process.pid}`);
  await fs.rm(tmp, { force: true });
  await fs.symlink(target, tmp);
  await fs.rename(tmp, path.join(toolsDir(), name));
}

/** Runs a script's body; a failure prints its message (not a stack) and exits 1. */
export function runScript(body: () => Promise<void>): void {
  body().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
