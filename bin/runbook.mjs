#!/usr/bin/env node
// The installed entry: the bundled CLI (npm run build). Development uses `npm run runbook`.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/cli/runbook.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('runbook is not built yet: run `npm run build` in the project folder\n');
  process.exitCode = 2;
} else {
  await import(bundle.href);
}
