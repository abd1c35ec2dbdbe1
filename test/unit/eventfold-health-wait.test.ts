// deploy.release waits for health SERVING: a try that times out (a busy host, Node's start-up under
// emulation) is retried until the deadline; a refusal that is not transient ends the wait at once.
import { describe, expect, it } from 'vitest';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Cmd } from '../../lib/core/cmd.ts';
import { waitHealthy } from '../../runbooks/eventfold-db/deploy.ts';
import { ScriptedExecutor } from './fakes.ts';

/** An executor whose health tries go as `tries` says: a result, or an error thrown. */
function healthTries(tries: ({ exitCode: number; stderr?: string } | RunbookError)[]): ScriptedExecutor {
  let n = 0;
  const x = new ScriptedExecutor();
  x.run = async (cmd: Cmd) => {
    x.calls.push(cmd);
    const t = tries[Math.min(n++, tries.length - 1)] as { exitCode: number; stderr?: string } | RunbookError;
    if (t instanceof RunbookError) throw t;
    return { stdout: '', stderr: '', ...t };
  };
  return x;
}
const timedOut = () => new RunbookError('stepFailed', '`node eventfold-tools.mjs health` did not finish within 30 s', { host: 'h', retryable: true });

describe('waitHealthy', () => {
  it('retries a try that timed out or lost its connection, and returns once SERVING', async () => {
    const x = healthTries([timedOut(), new RunbookError('unreachable', 'cannot reach h over SSH', { retryable: true }), { exitCode: 1, stderr: 'not SERVING' }, { exitCode: 0 }]);
    await waitHealthy(x, 20_000);
    expect(x.calls.length).toBe(4);
  }, 30_000);

  it('gives up at its deadline, naming the last reason', async () => {
    const x = healthTries([timedOut()]);
    await expect(waitHealthy(x, 1_500)).rejects.toThrow(/gave up after 2 s \(last: .*did not finish within 30 s\)/);
  }, 30_000);

  it('stops at once on an error that is not transient', async () => {
    const x = healthTries([new RunbookError('precondition', 'admin cannot run sudo without a password', { retryable: false }), { exitCode: 0 }]);
    await expect(waitHealthy(x, 20_000)).rejects.toThrow(/cannot run sudo/);
    expect(x.calls.length).toBe(1);
  });
});
