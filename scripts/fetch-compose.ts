// Makes a Docker Compose v2 binary available for the compose asset validator and prints its path
// as the last line of stdout. Debian 12's docker-compose (1.29) rejects the compose spec's
// top-level `name:`, so this takes Debian 13's package into the cache (scripts/lib/debian-package.ts)
// and keeps its one binary as
//   ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/docker-compose_VERSION_ARCH/docker-compose
// with tools/docker-compose linking to the current one. A later run only checks that link.
// RUNBOOK_DEBIAN_MIRROR overrides the mirror (e.g. on a machine whose sources name no Debian one).
// COMPOSE_ARCH=arm64 fetches the ARM64 binary for the test VMs instead (linked as
// tools/docker-compose-arm64; dynamically linked, so it is checked by its ELF header, not run).
import { $, fs, path } from 'zx';
import { fetchDebianPackage, runScript, swapLink, toolsDir } from './lib/debian-package.ts';

const PKG = 'docker-compose';
const foreign = process.env.COMPOSE_ARCH || undefined;
const who = 'fetch-compose';

/** Throws unless BIN is a compose v2 binary for this machine, or an ARM64 ELF file with COMPOSE_ARCH set. */
async function check(bin: string): Promise<void> {
  if (foreign) {
    // A foreign binary cannot run here: its ELF machine field must name the architecture instead.
    const head = Buffer.alloc(20);
    const fd = await fs.open(bin, 'r');
    try {
      await fs.read(fd, head, 0, 20, 0);
    } finally {
      await fs.close(fd);
    }
    if (head.readUInt16LE(18) !== 0xb7) throw new Error(`${who}: ${bin} holds no ${foreign} binary`);
    return;
  }
  const r = await $({ quiet: true, nothrow: true, timeout: '30s' })`${bin} version`;
  const out = `${r.stdout}${r.stderr}`.trim();
  if (!r.ok) throw new Error(`${who}: ${bin} does not run on this machine: ${out}`);
  if (!/version v?2\./.test(out)) throw new Error(`${who}: ${bin} is not compose v2: ${out}`);
}

runScript(async () => {
  const link = path.join(toolsDir(), `${PKG}${foreign ? `-${foreign}` : ''}`);
  const warm = fs.existsSync(link) && (await check(link).then(() => true, () => false));
  if (!warm) {
    const got = await fetchDebianPackage({
      pkg: PKG,
      suite: 'trixie',
      who,
      ...(foreign ? { arch: foreign } : {}),
      file: `usr/libexec/docker/cli-plugins/${PKG}`,
      // The folder names predate the shared fetcher; kept, so the cached binaries stay valid.
      dirName: (version, arch) => `${PKG}_${version.replaceAll(':', '%3a')}_${arch}`,
      check,
    });
    await swapLink(path.basename(link), `${path.basename(got.dir)}/${PKG}`);
  }
  process.stdout.write(`${await fs.realpath(link)}\n`);
});
