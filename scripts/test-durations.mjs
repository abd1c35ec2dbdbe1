// Prints each test file's duration from a vitest JSON report (slowest first), one line per file.
// Usage: node scripts/test-durations.mjs REPORT.json [TITLE]
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, title = 'test file durations'] = process.argv.slice(2);
if (!file || !existsSync(file)) {
  console.log(`${title}: no report at ${file ?? '(none given)'}`);
  process.exit(0);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const rows = (r.testResults ?? []).map((t) => ({ name: relative(process.cwd(), t.name), s: (t.endTime - t.startTime) / 1000, status: t.status }));
rows.sort((a, b) => b.s - a.s);
console.log(`${title} (${new Date(r.startTime ?? Date.now()).toISOString()}):`);
for (const x of rows) console.log(`  ${x.s.toFixed(1).padStart(7)} s  ${x.name}${x.status === 'passed' ? '' : `  (${x.status})`}`);
console.log(`  ${rows.reduce((a, x) => a + x.s, 0).toFixed(1).padStart(7)} s  total`);
