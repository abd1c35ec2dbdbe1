// Long work shows that it is alive: zx's spinner at a terminal, otherwise (a log, CI) a line
// every 30 s for as long as it runs. Work that ends sooner prints nothing here.
import { spinner } from 'zx';

export const atTerminal = (): boolean => Boolean(process.stderr.isTTY) && !process.env.CI;

export async function withProgress<T>(title: string, work: () => Promise<T>, o: { everyMs?: number; write?: (line: string) => void } = {}): Promise<T> {
  if (atTerminal() && !o.write) return spinner(title, work);
  const write = o.write ?? ((line: string) => process.stderr.write(line));
  const every = o.everyMs ?? 30_000;
  const t0 = Date.now();
  const timer = setInterval(() => write(`${title}: still running after ${Math.round((Date.now() - t0) / 1000)} s\n`), every);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
