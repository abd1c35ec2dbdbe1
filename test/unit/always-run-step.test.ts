import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../lib/config/schema.ts';
import { write } from '../../lib/core/cmd.ts';
import { EXIT, RunbookError } from '../../lib/core/errors.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { Step } from '../../lib/engine/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { alwaysRunStep } from '../../lib/steps/always-run.ts';
import { ScriptedExecutor } from './fakes.ts';

const run = async (step: Step<object>) => {
  const exec = new ScriptedExecutor();
  const rb = { name: 'a', title: 'a', summary: 'a', config: defineConfig({}, () => ({})), steps: () => [step] };
  const r = recorder();
  const res = await runSteps(rb, { exec, config: {}, emit: r.emit, yes: true });
  return { res, exec, events: r.events };
};

describe('alwaysRunStep', () => {
  it('applies on every run, with its reason, and is not re-checked afterwards', async () => {
    let checks = 0;
    const step = alwaysRunStep<object>({
      id: 'x.restore',
      title: 'restore',
      reason: 'restore requested',
      async precondition() {
        checks++;
      },
      async apply({ exec }) {
        await exec.run(write(['touch', '/restored']));
      },
    });
    for (const _ of [1, 2]) {
      const { res, exec, events } = await run(step);
      expect(res).toMatchObject({ exitCode: EXIT.ok, changed: 1, unchanged: 0 });
      expect(exec.calls.map((c) => c.argv.join(' '))).toEqual(['touch /restored']);
      expect(events).toContainEqual(expect.objectContaining({ type: 'step-changed', id: 'x.restore', reason: 'restore requested' }));
    }
    expect(checks).toBe(2);
  });

  it('a failed precondition refuses before apply', async () => {
    const { res, exec } = await run(
      alwaysRunStep<object>({
        id: 'x.drop',
        title: 'drop',
        reason: 'rebuild requested',
        async precondition({ exec: e }) {
          throw new RunbookError('precondition', 'the schema file is not on the host', { host: e.host });
        },
        async apply({ exec: e }) {
          await e.run(write(['dropdb', 'app']));
        },
      }),
    );
    expect(res.exitCode).toBe(EXIT.precondition);
    expect(exec.calls).toEqual([]);
  });

  it('a verify that throws fails the step', async () => {
    const { res } = await run(
      alwaysRunStep<object>({
        id: 'x.load',
        title: 'load',
        reason: 'restore requested',
        async apply() {},
        async verify({ exec }) {
          throw new RunbookError('stepFailed', 'the restored rows differ', { host: exec.host });
        },
      }),
    );
    expect(res).toMatchObject({ exitCode: EXIT.stepFailed, failed: 1, changed: 0 });
  });
});
