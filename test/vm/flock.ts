// Cross-process mutual exclusion with flock(1), the same lock build-image.sh takes: a child
// `flock FILE` holds the lock while its stdin stays open, so the lock goes away with this process.
import { spawn } from 'node:child_process';

/** Runs `fn` holding an exclusive flock on `lockFile`; `onWait` is called every 30 s while another holder has it. */
export async function withFlock<T>(lockFile: string, fn: () => Promise<T>, onWait: (waitedS: number) => void): Promise<T> {
  const holder = spawn('flock', ['-x', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let early: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((res, rej) => {
      early = setTimeout(() => onWait(0), 1_000);
      timer = setInterval(() => onWait(Math.round((Date.now() - t0) / 1000)), 30_000);
      holder.once('error', rej);
      holder.once('exit', (c) => rej(new Error(`flock ${lockFile} exited (${c}) before taking the lock`)));
      holder.stdout?.once('data', () => res());
    });
  } finally {
    clearTimeout(early);
    clearInterval(timer);
  }
  holder.removeAllListeners('exit');
  try {
    return await fn();
  } finally {
    const gone = new Promise((r) => holder.once('exit', r));
    holder.stdin?.end();
    await gone;
  }
}
