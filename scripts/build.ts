// Bundles what runs without a TypeScript loader:
//   dist/cli/       the `runbook` CLI (runbooks are separate chunks, loaded on demand)
//   dist/eventfold/ eventfold-tools, installed on EventfoldDB hosts (Node 18+)
//   dist/familycart/ cf-allowlist, installed on hosts behind Cloudflare (Node 18+)
//   dist/standins/  test stand-ins installed into test VMs (never shipped to a real host)
// Run after the npm packages are installed (esbuild is one): `npm run build`, and by setup.
import { type BuildOptions, type Plugin, build } from 'esbuild';
import { $, fs } from 'zx';

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
// runbooks/eventfold-db/protocol/protos.ts reads the .proto files at run time from source; in a
// bundle their texts are inlined so each bundle is a single file.
const inlineProtos: Plugin = {
  name: 'inline-protos',
  setup(b) {
    b.onLoad({ filter: /runbooks\/eventfold-db\/protocol\/protos\.ts$/ }, () => ({
      loader: 'js',
      contents: ['eventfold', 'health'].map((n) => `export const ${n}Proto = () => ${JSON.stringify(fs.readFileSync(`runbooks/eventfold-db/protocol/proto/${n}.proto`, 'utf8'))};`).join('\n'),
    }));
  },
};
const common: BuildOptions = { bundle: true, format: 'esm', platform: 'node', target: 'node18', banner, logLevel: 'warning', legalComments: 'none', plugins: [inlineProtos] };
const executable = { js: `#!/usr/bin/env node\n${banner.js}` };

fs.rmSync('dist', { recursive: true, force: true });
await build({ ...common, entryPoints: { runbook: 'lib/cli/main.ts' }, outdir: 'dist/cli', splitting: true, outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]' });

await build({ ...common, entryPoints: ['runbooks/eventfold-db/tools/main.ts'], outfile: 'dist/eventfold/eventfold-tools.mjs', banner: executable });
await build({ ...common, entryPoints: ['runbooks/familycart/tools/cf-allowlist.ts'], outfile: 'dist/familycart/cf-allowlist.mjs', banner: executable });
fs.chmodSync('dist/familycart/cf-allowlist.mjs', 0o755);
// The stand-in "release binary": one executable file, run without a JIT so the unit's
// MemoryDenyWriteExecute=yes holds for it as it does for the real binary.
await build({ ...common, format: 'cjs', entryPoints: ['test/standins/eventfold-db/server.ts'], outfile: 'dist/standins/eventfold-db', banner: { js: '#!/usr/bin/node --jitless' } });
fs.chmodSync('dist/standins/eventfold-db', 0o755);
// The OCI CLI stand-in, installable as /usr/local/bin/oci inside a test VM.
await build({ ...common, entryPoints: ['test/standins/oci/oci.ts'], outfile: 'dist/standins/oci.mjs', banner: executable });
fs.chmodSync('dist/standins/oci.mjs', 0o755);

// Stand-ins baked into the test container images (test/containers/images.ts): Gratonite's API
// (with its migration command) and web, MinIO's server and client, and FamilyCart's backend and
// frontend. Node 20 in the image.
const image = { ...common, target: 'node20', external: ['bufferutil', 'utf-8-validate'] };
await build({ ...image, entryPoints: { 'gratonite-api': 'test/standins/gratonite/api.ts', 'gratonite-migrate': 'test/standins/gratonite/migrate.ts', 'gratonite-web': 'test/standins/gratonite/web.ts', minio: 'test/standins/minio/minio.ts', mc: 'test/standins/minio/mc.ts', 'familycart-backend': 'test/standins/familycart/backend.ts', 'familycart-frontend': 'test/standins/familycart/frontend.ts' }, outdir: 'dist/standins/images', outExtension: { '.js': '.mjs' } });

// The bundle a host installs (first boot fetches it from Object Storage): the bundled CLI, the
// host tools and the assets, no node_modules. Reproducible: the same sources give the same SHA-256.
const assets = ['cloud-init', 'systemd', 'nftables', 'compose', ...fs.readdirSync('runbooks').map((r: string) => `runbooks/${r}/files`)].filter((p) => fs.existsSync(p));
await $`tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w -I ${'gzip -n'} -cf dist/runbook-bundle.tar.gz package.json bin/runbook.mjs dist/cli dist/eventfold dist/familycart ${assets}`.quiet();
console.log('built dist/cli, dist/eventfold, dist/familycart, dist/standins, dist/runbook-bundle.tar.gz');
