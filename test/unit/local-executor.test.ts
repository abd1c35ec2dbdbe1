// The local executor (a run on the host itself, as first boot does) must feed stdin so that
// commands reading /dev/stdin work, as they do over SSH.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { read, write } from '../../lib/core/cmd.ts';
import { Secret } from '../../lib/core/secret.ts';
import { ensureFile } from '../../lib/exec/files.ts';
import { LocalExecutor } from '../../lib/exec/local.ts';

const dir = mkdtempSync(join(tmpdir(), 'local-exec-'));
const ex = new LocalExecutor({ sudo: false });

describe('local executor', () => {
  it('a command can open /dev/stdin (install, nft -f /dev/stdin)', async () => {
    const p = join(dir, 'a');
    await ex.run(write(['install', '-m', '0640', '/dev/stdin', p], { stdin: 'line 1\nline 2\n' }));
    expect(readFileSync(p, 'utf8')).toBe('line 1\nline 2\n');
    expect(statSync(p).mode & 0o777).toBe(0o640);
  });

  it('keeps argv as arguments, exit codes and stderr, with stdin', async () => {
    const r = await ex.probe(read(['sh', '-c', 'wc -c < /dev/stdin; echo "$1" >&2; exit 4', 'sh', "it's $(not) run"], { stdin: new Secret('S', 'abcdef'), okCodes: [4] }));
    expect(r.exitCode).toBe(4);
    expect(r.stdout.trim()).toBe('6');
    expect(r.stderr.trim()).toBe("it's $(not) run");
  });

  it('ensureFile writes, then finds nothing to do', async () => {
    const me = userInfo().username;
    const spec = { path: join(dir, 'sub/conf'), content: 'x=1\n', mode: '0600', owner: me, group: (await ex.run(read(['id', '-gn']))).stdout.trim() };
    expect(await ensureFile(ex, spec)).toMatch(/missing/);
    expect(readFileSync(spec.path, 'utf8')).toBe('x=1\n');
    expect(await ensureFile(ex, spec)).toBeNull();
  });
});
