import type { ResultPromise } from 'execa';
import { afterEach } from 'vitest';

/** Processes a test file started; each is killed by its own PID after every test. */
export function spawnedProcesses(): ResultPromise[] {
  const procs: ResultPromise[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.catch(() => undefined);
    }
  });
  return procs;
}
