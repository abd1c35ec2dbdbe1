import { execa } from 'execa';
import type { ResultPromise } from 'execa';

/**
 * A network namespace that lives as long as its holder process (`unshare -n sleep`), so nothing is
 * left behind when the test kills it. Returns the argv prefix that runs a command inside it.
 * As root, `nsenter -n` keeps full privileges over every namespace, so veth pairs can be created
 * inside one namespace with their peer placed straight into another: the machine's own network
 * namespace never holds an interface of the test.
 */
export async function netns(procs: ResultPromise[], opts: { user?: boolean } = {}): Promise<{ pid: number; run: string[] }> {
  const holder = execa('unshare', [opts.user ? '-rn' : '-n', 'sleep', '600']);
  procs.push(holder);
  const pid = holder.pid as number;
  const ours = (await execa('readlink', ['/proc/self/ns/net'])).stdout;
  for (let i = 0; i < 200; i++) {
    const r = await execa('readlink', [`/proc/${pid}/ns/net`], { reject: false });
    if (r.exitCode === 0 && r.stdout && r.stdout !== ours) return { pid, run: ['nsenter', '-t', String(pid), ...(opts.user ? ['-U', '--preserve-credentials'] : []), '-n'] };
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`the namespace holder ${pid} did not enter a network namespace within 5 s`);
}

/** Runs argv inside a namespace; throws with its stderr when it fails. */
export async function inNs(ns: { run: string[] }, argv: string[], input?: string): Promise<string> {
  const r = await execa(ns.run[0] as string, [...ns.run.slice(1), ...argv], { input, reject: false, timeout: 30_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed in the namespace: ${r.stderr}`);
  return r.stdout;
}
