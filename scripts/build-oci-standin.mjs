// Bundles the OCI CLI test stand-in (test/standins/oci/oci.ts) into one executable file,
// dist/standins/oci.mjs, for installing as /usr/local/bin/oci inside a test VM (Node 18+).
// A test tool only: it is never installed on a real host.
import { build } from 'esbuild';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist/standins/oci.mjs');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(root, 'test/standins/oci/oci.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node18',
  banner: { js: '#!/usr/bin/env node' },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
console.log(`built ${outfile}`);
