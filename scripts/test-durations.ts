// Prints each test file's duration from a vitest JSON report (slowest first), one line per file.
// Usage: node --import tsx scripts/test-durations.ts REPORT.json [TITLE]
import { fs } from 'zx';
import { durationTable, type VitestReport } from './lib/test-reports.ts';

const [file, title = 'test file durations'] = process.argv.slice(2);
if (!file || !fs.existsSync(file)) {
  console.log(`${title}: no report at ${file ?? '(none given)'}`);
} else {
  for (const line of durationTable(fs.readJsonSync(file) as VitestReport, title, process.cwd())) console.log(line);
}
