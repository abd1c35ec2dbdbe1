// Takes Debian packages into the project's cache without installing them: apt downloads them with a
// sources list, lists, cache and status of its own (the machine's apt sources and state are never
// touched), from the Debian mirror the machine already uses, and dpkg-deb unpacks them under
//   ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/
// Validators that are services elsewhere (cloud-init, nginx) or newer than Debian 12's (compose
// v2) come in this way. RUNBOOK_DEBIAN_MIRROR overrides the mirror. Network steps are retried
// with a growing pause; each is bounded by a timeout.
import { $, type Duration, expBackoff, fs, os, path, retry } from 'zx';
import { withProgress } from './progress.ts';

export const toolsDir = () => path.join(process.env.RUNBOOK_CACHE_DIR ?? path.join(os.homedir(), '.cache/oci-arm-runbooks'), 'tools');

export const fail = (who: string, msg: string): never => {
  throw new Error(`${who}: ${msg}`);
};

/** The URI of the first enabled deb source that serves this machine's own release, from .list and deb822 .sources files. */
export async function machineMirror(): Promise<string | undefined> {
  const codename = await machineCodename();
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

/** This machine's release name (bookworm on Debian 12), from /etc/os-release. */
export async function machineCodename(): Promise<string | undefined> {
  const osRelease = await fs.readFile('/etc/os-release', 'utf8').catch(() => '');
  return /^VERSION_CODENAME="?([^"\n]+)"?/m.exec(osRelease)?.[1];
}

/** One suite of the mirror, seen through apt state of its own (its lists already updated). */
export interface DebianSuite {
  arch: string;
  /** The candidate version of PKG; fails when the suite has none. */
  version(pkg: string): Promise<string>;
  /** Downloads the packages (`pkg` or `pkg=version`); returns the .deb files. */
  download(pkgs: string[]): Promise<string[]>;
  /** A scratch folder under tools/, removed at the end. */
  work: string;
}

/** Runs BODY against SUITE of the machine's mirror, for ARCH (default: this machine's). */
export async function withDebianSuite<T>(o: { suite: string; who: string; arch?: string }, body: (s: DebianSuite) => Promise<T>): Promise<T> {
  const $$ = $({ quiet: true, nothrow: true });
  for (const t of ['apt-get', 'apt-cache', 'dpkg', 'dpkg-deb']) if (!(await $$`command -v ${t}`).ok) fail(o.who, `${t} not found; this needs a Debian machine`);
  const arch = o.arch ?? (await $`dpkg --print-architecture`.quiet()).stdout.trim();
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
      '-o', 'APT::Sandbox::User=root', '-o', 'Acquire::Languages=none', '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures=${arch}`,
      '-o', 'Acquire::Retries=2', '-o', 'Acquire::http::Timeout=30', '-o', 'Acquire::https::Timeout=30',
    ];
    const tail = (s: string) => s.trim().split('\n').slice(-3).join(' ');
    /** A network step: up to 3 tries, 2 s then 4 s apart, each bounded by its timeout. */
    const fetching = (what: string, timeout: Duration, cwd: string, args: string[]) =>
      withProgress(`${o.who}: ${what}`, () =>
        retry(3, expBackoff('10s', '2s'), async () => {
          const r = await $$({ timeout, cwd })`apt-get -qq ${args}`;
          if (!r.ok) fail(o.who, `${what} failed or timed out: ${tail(r.stderr)}`);
        }),
      );
    await fetching(`apt-get update of ${mirror} ${o.suite}`, '180s', work, ['--error-on=any', ...apt, 'update']);
    return await body({
      arch,
      work,
      async version(pkg) {
        const show = await $$({ timeout: '60s' })`apt-cache ${apt} show --no-all-versions ${pkg}`;
        return /^Version: (\S+)/m.exec(show.stdout)?.[1] ?? fail(o.who, `${pkg} is not in ${mirror} ${o.suite} for ${arch}`);
      },
      async download(pkgs) {
        const into = await fs.mkdtemp(path.join(work, 'deb/'));
        await fetching(`apt-get download ${pkgs.join(' ')} from ${mirror}`, '300s', into, [...apt, 'download', ...pkgs]);
        const debs = (await fs.readdir(into)).filter((f: string) => f.endsWith('.deb')).map((f: string) => path.join(into, f));
        if (debs.length < pkgs.length) fail(o.who, `apt-get download ${pkgs.join(' ')} left ${debs.length} .deb files`);
        return debs;
      },
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * Downloads PKG from SUITE and keeps it under tools/: whole, unpacked as DIR/root (DIR is
 * deb-PKG_VERSION_ARCH), or, with `file`, only that file of the package as DIR/BASENAME (DIR then
 * named by `dirName`). `check` gets what is kept and throws when it is unusable. Reuses what an
 * earlier run kept for the same version.
 */
export async function fetchDebianPackage(o: {
  pkg: string;
  suite: string;
  who: string;
  arch?: string;
  file?: string;
  dirName?: (version: string, arch: string) => string;
  check: (kept: string) => Promise<void>;
}): Promise<{ kept: string; version: string; dir: string }> {
  return withDebianSuite(o, async (s) => {
    const version = await s.version(o.pkg);
    const tools = toolsDir();
    const dir = path.join(tools, o.dirName?.(version, s.arch) ?? `deb-${o.pkg}_${version.replaceAll(':', '%3a')}_${s.arch}`);
    const leaf = o.file ? path.basename(o.file) : 'root';
    const kept = path.join(dir, leaf);
    const ok = fs.existsSync(kept) && (await o.check(kept).then(() => true, () => false));
    if (!ok) {
      process.stderr.write(`${o.who}: downloading ${o.pkg} ${version} (${o.suite}, ${s.arch}) into ${dir}\n`);
      const [deb] = await s.download([`${o.pkg}=${version}`]);
      const unpacked = path.join(s.work, 'unpacked');
      await fs.mkdirp(unpacked);
      await $`dpkg-deb -x ${deb} ${path.join(unpacked, 'root')}`.quiet();
      if (o.file) {
        const from = path.join(unpacked, 'root', o.file);
        if (!fs.existsSync(from)) fail(o.who, `${path.basename(deb as string)} has no ${o.file}`);
        await fs.rename(from, path.join(unpacked, leaf));
        await fs.rm(path.join(unpacked, 'root'), { recursive: true, force: true });
      }
      await o.check(path.join(unpacked, leaf));
      await fs.rm(dir, { recursive: true, force: true });
      // A concurrent run may have put the same version in place first; either copy will do.
      await fs.rename(unpacked, dir).catch(async (e: unknown) => {
        if (!fs.existsSync(kept)) throw e;
      });
    }
    return { kept, version, dir };
  });
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
