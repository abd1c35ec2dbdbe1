// `--from restore.swap` in a new process trusts only what restore.fetch left on the host: no
// marker, or a staged log that is not the verified one, is refused before the server is stopped.
import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../lib/config/schema.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import { sha256 } from '../../lib/exec/files.ts';
import { recorder } from '../../lib/render/tty.ts';
import { markerPath } from '../../lib/steps/staged-file.ts';
import { LOG } from '../../runbooks/eventfold-db/config.ts';
import { restore } from '../../runbooks/eventfold-db/index.ts';
import { ScriptedExecutor } from './fakes.ts';

const STAGED = `${LOG}.restore`;

function host(files: Record<string, string>) {
  return new ScriptedExecutor((cmd) => {
    const [c, ...a] = cmd.argv;
    const path = a.at(-1) ?? '';
    if (c === 'cat') return path in files ? { stdout: files[path] } : { exitCode: 1 };
    if (c === 'sha256sum') return path in files ? { stdout: `${sha256(files[path] ?? '')}  ${path}\n` } : { exitCode: 1 };
    if (c === 'stat') return path in files ? { stdout: `${Buffer.byteLength(files[path] ?? '')}\n` } : { exitCode: 1 };
    if (c === 'node' && a[1] === 'read-all') return { stdout: '{"digest":"d1","events":3}' };
    if (c === 'node' && a[1] === 'health') return {};
    return {};
  });
}

async function resume(files: Record<string, string>) {
  const exec = host(files);
  const r = recorder();
  const rb = { ...restore, config: defineConfig({}, () => ({}) as never) };
  const res = await runSteps(rb, { exec, config: {} as never, emit: r.emit, yes: true, from: 'restore.swap' });
  return { res, exec, text: JSON.stringify(r.events) };
}

const marker = (content: string, digest = 'd1') => `${JSON.stringify({ sha256: sha256(content), size: Buffer.byteLength(content), source: 'eventfold/h/m-1.json', facts: { digest }, at: '2026-12-01T00:00:00Z' })}\n`;

describe('restore resumed at the swap', () => {
  it('with no verification marker: refused before anything is stopped, naming the step to resume from', async () => {
    const { res, exec, text } = await resume({ [STAGED]: 'stale log' });
    expect(res.exitCode).toBe(4);
    expect(text).toContain('has no verification marker');
    expect(text).toContain('--from restore.fetch');
    expect(exec.calls.filter((c) => c.write)).toEqual([]);
  });

  it('with a staged log that is not the verified one: refused', async () => {
    const { res, exec, text } = await resume({ [STAGED]: 'another log', [markerPath(STAGED)]: marker('the verified log') });
    expect(res.exitCode).toBe(4);
    expect(text).toContain('is not the file verified at');
    expect(exec.calls.filter((c) => c.write)).toEqual([]);
  });

  it('with the missing staged log: refused', async () => {
    const { res, text } = await resume({ [markerPath(STAGED)]: marker('the verified log') });
    expect(res.exitCode).toBe(4);
    expect(text).toContain(`${STAGED} is missing`);
  });

  it('with the verified log: swaps, and proves ReadAll against the digest from the marker', async () => {
    const ok = await resume({ [STAGED]: 'the verified log', [markerPath(STAGED)]: marker('the verified log') });
    expect(ok.res.exitCode).toBe(0);
    expect(ok.exec.calls.map((c) => c.argv.join(' '))).toContain(`mv -n ${STAGED} ${LOG}`);
    const bad = await resume({ [STAGED]: 'the verified log', [markerPath(STAGED)]: marker('the verified log', 'other') });
    expect(bad.res.exitCode).toBe(1);
    expect(bad.text).toContain('ReadAll after the restore does not match the backup');
  });
});
