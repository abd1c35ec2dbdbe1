// Vendor-data standing for an image that ships the OCI CLI: the stand-in (dist/standins/oci.mjs,
// built from test/standins/oci/), its wrapper, and root's stand-in store, prepared on this
// machine by `prepare` (buckets, objects). User-data's own write_files and runcmd replace the
// vendor's, so the files arrive as one archive unpacked by a vendor bootcmd (which runs before
// user-data's runcmd, and is a shell script line, so its size is no argv). Used by the EventfoldDB VM test, the demo and the CLI's throwaway VMs; never by a
// runbook on a real host.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify as stringifyYaml } from 'yaml';

export type OciStandin = (args: string[]) => Buffer;

export function ociStandinVendorData(root: string, prepare: (oci: OciStandin) => void = () => {}): string {
  const built = join(root, 'dist/standins/oci.mjs');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  const stage = mkdtempSync(join(tmpdir(), 'oci-stage-'));
  try {
    const store = join(stage, 'root/.oci-standin');
    mkdirSync(store, { recursive: true });
    prepare((args) => execFileSync('node', [built, ...args], { env: { ...process.env, OCI_STANDIN_ROOT: store }, stdio: ['ignore', 'pipe', 'pipe'] }));
    rmSync(join(store, 'calls.log'), { force: true });
    mkdirSync(join(stage, 'usr/local/lib/oci-standin'), { recursive: true });
    mkdirSync(join(stage, 'usr/local/bin'), { recursive: true });
    copyFileSync(built, join(stage, 'usr/local/lib/oci-standin/oci.mjs'));
    const wrapper = '#!/bin/sh\n# OCI CLI test stand-in (not the product): one store per user, like one config per user\nexport OCI_STANDIN_ROOT="${OCI_STANDIN_ROOT:-${HOME:-/root}/.oci-standin}"\nexec node /usr/local/lib/oci-standin/oci.mjs "$@"\n';
    writeFileSync(join(stage, 'usr/local/bin/oci'), wrapper, { mode: 0o755 });
    // The same files give the same bytes (no file times, no gzip time): a kept VM's options, this
    // text among them, then match between runs and `--target vm` reuses the VM.
    const tar = execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '-C', stage, 'usr', 'root'], { maxBuffer: 64 << 20 });
    const archive = gzipSync(tar);
    const b64 = archive.toString('base64').replace(/.{76}/g, '$&\n').trimEnd();
    const script = `if [ ! -e /usr/local/bin/oci ]; then\nbase64 -d > /run/oci-standin.tgz <<'EOF'\n${b64}\nEOF\ntar --no-overwrite-dir -xzf /run/oci-standin.tgz -C / && rm -f /run/oci-standin.tgz\nfi\n`;
    return `#cloud-config\n${stringifyYaml({ bootcmd: [script] }, { lineWidth: 0 })}`;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
