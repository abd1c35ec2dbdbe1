// Adds up vitest JSON reports and bats TAP into one closing line: "N passed, N failed".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'test/.tmp/results';
let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of existsSync(dir) ? readdirSync(dir) : []) {
  const p = join(dir, f);
  if (f.endsWith('.json')) {
    const r = JSON.parse(readFileSync(p, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    // A file that failed to load has no test results of its own: count it as one failure.
    failed += (r.testResults ?? []).filter((t) => t.status === 'failed' && !(t.assertionResults ?? []).some((a) => a.status === 'failed')).length;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  } else if (f.endsWith('.tap')) {
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (/^ok .*# skip/i.test(line)) skipped++;
      else if (/^ok /.test(line)) passed++;
      else if (/^not ok /.test(line)) failed++;
    }
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
