// Bundles what runs without a TypeScript loader:
//   dist/cli/       the `runbook` CLI (runbooks are separate chunks, loaded on demand)
//   dist/eventfold/ eventfold-tools, installed on EventfoldDB hosts (Node 18+)
//   dist/standins/  test stand-ins installed into test VMs (never shipped to a real host)
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
// lib/eventfold/protos.ts reads the .proto files at run time from source; in a bundle their
// texts are inlined so each bundle is a single file.
const inlineProtos = {
  name: 'inline-protos',
  setup(b) {
    b.onLoad({ filter: /lib\/eventfold\/protos\.ts$/ }, () => ({
      loader: 'js',
      contents: ['eventfold', 'health'].map((n) => `export const ${n}Proto = () => ${JSON.stringify(readFileSync(`lib/eventfold/proto/${n}.proto`, 'utf8'))};`).join('\n'),
    }));
  },
};
const common = { bundle: true, format: 'esm', platform: 'node', target: 'node18', banner, logLevel: 'warning', legalComments: 'none', plugins: [inlineProtos] };

rmSync('dist', { recursive: true, force: true });
await build({ ...common, entryPoints: { runbook: 'lib/cli/main.ts' }, outdir: 'dist/cli', splitting: true, outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]' });

await build({ ...common, entryPoints: ['runbooks/eventfold-db/tools/main.ts'], outfile: 'dist/eventfold/eventfold-tools.mjs', banner: { js: `#!/usr/bin/env node\n${banner.js}` } });
// The stand-in "release binary": one executable file, run without a JIT so the unit's
// MemoryDenyWriteExecute=yes holds for it as it does for the real binary.
await build({ ...common, format: 'cjs', entryPoints: ['test/standins/eventfold-db/server.ts'], outfile: 'dist/standins/eventfold-db', banner: { js: '#!/usr/bin/node --jitless' } });
chmodSync('dist/standins/eventfold-db', 0o755);
// The OCI CLI stand-in, installable as /usr/local/bin/oci inside a test VM.
await build({ ...common, entryPoints: ['test/standins/oci/oci.ts'], outfile: 'dist/standins/oci.mjs', banner: { js: `#!/usr/bin/env node\n${banner.js}` } });
chmodSync('dist/standins/oci.mjs', 0o755);
console.log('built dist/cli, dist/eventfold, dist/standins');
