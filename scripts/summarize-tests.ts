// Adds up vitest JSON reports and bats TAP into one closing line: "N passed, N failed".
// Usage: node --import tsx scripts/summarize-tests.ts [DIR]   (default test/.tmp/results)
import { fs, path } from 'zx';
import { addTap, addVitest, summaryLine, type Tally, type VitestReport } from './lib/test-reports.ts';

const dir = process.argv[2] ?? 'test/.tmp/results';
const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  const p = path.join(dir, f);
  if (f.endsWith('.json')) addVitest(tally, fs.readJsonSync(p) as VitestReport);
  else if (f.endsWith('.tap')) addTap(tally, fs.readFileSync(p, 'utf8'));
}
const { line, code } = summaryLine(tally);
console.log(line);
process.exitCode = code;
