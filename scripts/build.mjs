// Bundles what runs without a TypeScript loader:
//   dist/cli/       the `runbook` CLI (runbooks are separate chunks, loaded on demand)
//   dist/eventfold/ eventfold-tools, installed on EventfoldDB hosts (Node 18+), with its protos
//   dist/standins/  test stand-ins installed into test VMs (never shipped to a real host)
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
const common = { bundle: true, format: 'esm', platform: 'node', target: 'node18', banner, logLevel: 'warning', legalComments: 'none' };

rmSync('dist', { recursive: true, force: true });
await build({ ...common, entryPoints: { runbook: 'lib/cli/main.ts' }, outdir: 'dist/cli', splitting: true, outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]' });

const protos = (dir) => {
  mkdirSync(`${dir}/proto`, { recursive: true });
  cpSync('lib/eventfold/proto', `${dir}/proto`, { recursive: true });
};
await build({ ...common, entryPoints: ['runbooks/eventfold-db/tools/main.ts'], outfile: 'dist/eventfold/eventfold-tools.mjs', banner: { js: `#!/usr/bin/env node\n${banner.js}` } });
protos('dist/eventfold');
await build({ ...common, entryPoints: ['test/standins/eventfold-db/server.ts'], outfile: 'dist/standins/eventfold-db.mjs' });
await build({ ...common, entryPoints: ['test/standins/oci/oci.ts'], outfile: 'dist/standins/oci.mjs' });
protos('dist/standins');
console.log('built dist/cli, dist/eventfold, dist/standins');
