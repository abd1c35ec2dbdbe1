// filesStep on a small in-memory host: a validator that refuses restores the previous files, and a
// running service that does not come back healthy after the change gets its previous files back
// and is restarted with them.
import { describe, expect, it } from 'vitest';
import { write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { sha256 } from '../../lib/exec/files.ts';
import { filesStep } from '../../lib/steps/common.ts';
import { ScriptedExecutor } from './fakes.ts';

/** Files as path -> content; answers the commands filesStep and ensureFile use. */
function fakeHost(files: Record<string, string>, active = true) {
  const fs = new Map(Object.entries(files));
  const restarts: string[] = [];
  const exec = new ScriptedExecutor((cmd) => {
    const [c, ...a] = cmd.argv;
    const path = a.at(-1) ?? '';
    if (c === 'stat') return fs.has(path) ? { stdout: '644 root root 1\n' } : { exitCode: 1 };
    if (c === 'sha256sum') return fs.has(path) ? { stdout: `${sha256(fs.get(path) ?? '')}  ${path}\n` } : { exitCode: 1 };
    if (c === 'cat') return fs.has(path) ? { stdout: fs.get(path) } : { exitCode: 1 };
    if (c === 'install') fs.set(path, cmd.stdin instanceof Secret ? cmd.stdin.reveal() : String(cmd.stdin ?? ''));
    if (c === 'mv') fs.set(path, fs.get(a.at(-2) ?? '') ?? '');
    if (c === 'rm') fs.delete(path);
    if (c === 'systemctl' && a[0] === 'is-active') return { stdout: active ? 'active\n' : 'inactive\n', exitCode: active ? 0 : 3 };
    if (c === 'systemctl' && a[0] === 'try-restart') {
      restarts.push(fs.get('/etc/app.env') ?? '');
      if (fs.get('/etc/app.env')?.includes('unstartable')) return { exitCode: 1, stderr: 'Job for app.service failed because the control process exited with error code.' };
    }
    return {};
  });
  return { exec, fs, restarts };
}

const step = (healthy: (content: string) => boolean, fs: () => Map<string, string>) =>
  filesStep<{ value: string }>({
    id: 'app.env',
    title: 'app env',
    files: (c) => [{ path: '/etc/app.env', content: `VALUE=${c.value}\n`, mode: '0644' }],
    after: () => [write(['systemctl', 'try-restart', 'app.service'])],
    restartProof: {
      service: 'app.service',
      healthy: async () => {
        if (!healthy(fs().get('/etc/app.env') ?? '')) throw new RunbookError('stepFailed', 'app health: not SERVING');
      },
    },
  });

const ctx = (exec: ScriptedExecutor, value: string) => ({ exec, config: { value }, log: () => undefined }) as unknown as Parameters<ReturnType<typeof step>['apply']>[0];

describe('filesStep restart proof', () => {
  it('keeps the new files when the running service comes back healthy', async () => {
    const h = fakeHost({ '/etc/app.env': 'VALUE=old\n' });
    await step(() => true, () => h.fs).apply(ctx(h.exec, 'new'));
    expect(h.fs.get('/etc/app.env')).toBe('VALUE=new\n');
    expect(h.restarts).toEqual(['VALUE=new\n']);
  });

  it('puts the previous files back and restarts with them when the service does not come back', async () => {
    const h = fakeHost({ '/etc/app.env': 'VALUE=old\n' });
    const err = await step((c) => c === 'VALUE=old\n', () => h.fs).apply(ctx(h.exec, 'bad')).then(() => null, (e: unknown) => e as RunbookError);
    expect(err?.message).toMatch(/app.service did not come back healthy with the new \/etc\/app.env \(app health: not SERVING\); the previous files are back and it was restarted with them/);
    expect(err?.hint).toMatch(/journalctl -u app.service/);
    expect(h.fs.get('/etc/app.env')).toBe('VALUE=old\n');
    expect(h.restarts).toEqual(['VALUE=bad\n', 'VALUE=old\n']);
  });

  it('treats a restart that fails outright like one that comes back unhealthy', async () => {
    const h = fakeHost({ '/etc/app.env': 'VALUE=old\n' });
    const err = await step(() => true, () => h.fs).apply(ctx(h.exec, 'unstartable')).then(() => null, (e: unknown) => e as RunbookError);
    expect(err?.message).toMatch(/did not come back healthy .*Job for app.service failed.*the previous files are back/);
    expect(h.fs.get('/etc/app.env')).toBe('VALUE=old\n');
    expect(h.restarts).toEqual(['VALUE=unstartable\n', 'VALUE=old\n']);
  });

  it('asks for no proof when the service was not running (a first install)', async () => {
    const h = fakeHost({}, false);
    await step(() => false, () => h.fs).apply(ctx(h.exec, 'new'));
    expect(h.fs.get('/etc/app.env')).toBe('VALUE=new\n');
  });
});
