// TEST STAND-IN, NOT THE PRODUCT: output, exit and error helpers shared by the OCI CLI stand-in's
// command modules, copying how the real CLI (click, cli_util) prints and exits.
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';

export const CLI_VERSION = 'Oracle-PythonSDK/standin, Oracle-PythonCLI/standin';

export const writeOut = (s: string | Buffer) => writeAll(1, typeof s === 'string' ? Buffer.from(s) : s);
export const writeErr = (s: string) => writeAll(2, Buffer.from(s));
export function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      sleep(5);
    }
  }
}
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Python's json.dumps(sort_keys=True, ensure_ascii=False, indent=n). */
export function pyJson(v: unknown, indent: number): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])]));
    return x === undefined ? null : x;
  };
  return JSON.stringify(sort(v), null, indent);
}
/** datetime.isoformat() of an aware UTC datetime, as the CLI renders model timestamps. */
export const pyTime = (iso: string) => iso.replace(/\.(\d{3})Z$/, '.$1000+00:00').replace(/Z$/, '+00:00');
export const httpDate = (iso: string) => new Date(iso).toUTCString();
export const requestId = () => `${randomBytes(16).toString('hex').toUpperCase()}/${randomBytes(16).toString('hex').toUpperCase()}/${randomBytes(16).toString('hex').toUpperCase()}`;

export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
export const exit = (code: number): never => {
  throw new Exit(code);
};
/** click.UsageError: usage line, blank line, "Error: ...", exit 2. */
export const usageError = (usage: string, msg: string): never => {
  writeErr(`Usage: ${usage}\n\nError: ${msg}\n`);
  return exit(2);
};
/** cli_util.wrap_exceptions' sys.exit("{usage}\n\nError: {details}"): exit 1. */
export const usageExit1 = (usage: string, msg: string): never => {
  writeErr(`Usage: ${usage}\n\nError: ${msg}\n`);
  return exit(1);
};
/** click's Abort as main() reports it. */
export const aborted = (): never => {
  writeErr('Aborted!\n');
  return exit(1);
};

