// Bundles the EventfoldDB test stand-in as an ES module, runnable as
//   node dist/standins/eventfold-db.mjs
// with its .proto files copied beside it (dist/standins/proto/), where lib/eventfold/protos.ts
// finds them at run time. Target Node 18 (Debian 12's nodejs). `--outdir DIR` builds elsewhere
// (the tests build into a temporary directory). scripts/build.mjs builds the single-file
// CommonJS release used in the VM tests; this is the plain, readable variant.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--outdir');
const outdir = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, 'dist/standins'));
const outfile = join(outdir, 'eventfold-db.mjs');

await build({
  entryPoints: [join(root, 'test/standins/eventfold-db/server.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  banner: { js: "#!/usr/bin/env node\nimport { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
mkdirSync(join(outdir, 'proto'), { recursive: true });
for (const p of ['eventfold.proto', 'health.proto']) copyFileSync(join(root, 'lib/eventfold/proto', p), join(outdir, 'proto', p));
console.log(`built ${outfile} and ${join(outdir, 'proto')}/`);
