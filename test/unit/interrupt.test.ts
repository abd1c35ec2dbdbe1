// Ctrl-C at a terminal: SIGINT reaches the whole foreground process group. The in-flight child
// must not die mid-write; the run finishes the current step, exits 130 and names the step to
// resume from. A real process, a real SIGINT to its group.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../lib/core/wait.ts';
import { spawnedProcesses } from './spawned.ts';

const procs = spawnedProcesses();

describe('interrupt', () => {
  it('SIGINT to the process group: the child finishes, the run stops after the step, exit 130, --from next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interrupt-'));
    // detached: the fixture leads its own process group, as a shell's foreground job does.
    const p = execa('node', ['--import', 'tsx', join(import.meta.dirname, '../fixtures/interrupt/run.ts'), dir], { reject: false, detached: true, env: { NO_COLOR: '1' } });
    procs.push(p);
    await waitFor(async () => (existsSync(join(dir, 'started')) ? { done: true, value: undefined } : { done: false, reason: 'child not started' }), { what: 'the slow child to start', deadlineMs: 20_000, initialDelayMs: 50, maxDelayMs: 200 });
    process.kill(-(p.pid as number), 'SIGINT');
    const r = await p;
    expect(existsSync(join(dir, 'finished'))).toBe(true);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(130);
    expect(`${r.stdout}\n${r.stderr}`).toContain('--from next');
    expect(r.stdout).not.toMatch(/cannot reach|FAILED/);
  }, 60_000);
});
