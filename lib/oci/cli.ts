import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { RunbookError } from '../core/errors.ts';
import { isSecret, redact, type Secret } from '../core/secret.ts';
import { waitFor } from '../core/wait.ts';

export type OciAuth = 'api_key' | 'instance_principal' | 'security_token' | 'resource_principal';
export const OCI_AUTH_MODES: readonly OciAuth[] = ['api_key', 'instance_principal', 'security_token', 'resource_principal'];

export interface OciOptions {
  bin?: string;
  /** Passed as --auth; when unset the CLI's own default (or OCI_CLI_AUTH) applies. */
  auth?: OciAuth;
  profile?: string;
  configFile?: string;
  region?: string;
  /** Overall deadline for one logical call, retries included. */
  deadlineMs?: number;
  /** Per-attempt bound. */
  attemptTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ServiceError {
  status: number;
  code: string;
  message: string;
}

/** Parses the CLI's "ServiceError: {json}" stderr; null when stderr holds something else. */
export function parseServiceError(stderr: string): ServiceError | null {
  const i = stderr.indexOf('{', stderr.indexOf('ServiceError'));
  if (stderr.indexOf('ServiceError') < 0 || i < 0) return null;
  try {
    const j = JSON.parse(stderr.slice(i, stderr.lastIndexOf('}') + 1)) as Record<string, unknown>;
    return { status: Number(j.status), code: String(j.code ?? ''), message: String(j.message ?? '') };
  } catch {
    return null;
  }
}

/** Throttling, server errors and timeouts may pass on a later try; 4xx other than 429 never do. */
export function isRetryable(e: ServiceError | null, timedOut: boolean): boolean {
  if (timedOut) return true;
  if (!e) return false;
  return e.status === 429 || e.status >= 500;
}

/**
 * The OCI CLI over execa: JSON parsed, auth passed through, bounded retries with jittered backoff
 * for retryable failures only, and errors that name the IAM cause where one is likely.
 */
export class OciCli {
  readonly #o: OciOptions;

  constructor(o: OciOptions = {}) {
    const envAuth = (o.env ?? process.env).OCI_CLI_AUTH;
    if (o.auth && !OCI_AUTH_MODES.includes(o.auth)) throw new RunbookError('config', `unknown OCI auth mode "${o.auth}"`, { hint: `use one of ${OCI_AUTH_MODES.join(', ')}` });
    if (envAuth && !OCI_AUTH_MODES.includes(envAuth as OciAuth)) throw new RunbookError('config', `OCI_CLI_AUTH="${envAuth}" is not an auth mode`, { hint: `use one of ${OCI_AUTH_MODES.join(', ')}` });
    this.#o = o;
  }

  /** The global options every call carries. */
  globalArgs(): string[] {
    const o = this.#o;
    return [
      ...(o.auth ? ['--auth', o.auth] : []),
      ...(o.profile ? ['--profile', o.profile] : []),
      ...(o.configFile ? ['--config-file', o.configFile] : []),
      ...(o.region ? ['--region', o.region] : []),
    ];
  }

  /** Runs `oci ARGS` and returns parsed JSON (null for commands that print nothing). */
  async json<T = unknown>(args: string[], opts: { stdin?: string | Buffer | Secret; what?: string; timeoutMs?: number } = {}): Promise<T> {
    const argv = [...args, ...this.globalArgs()];
    const what = opts.what ?? `oci ${args.slice(0, 3).join(' ')}`;
    const input = opts.stdin === undefined ? '' : isSecret(opts.stdin) ? opts.stdin.reveal() : opts.stdin;
    return waitFor<T>(
      async () => {
        const r = await execa(this.#o.bin ?? 'oci', argv, { input, reject: false, timeout: opts.timeoutMs ?? this.#o.attemptTimeoutMs ?? 120_000, env: this.#o.env, stripFinalNewline: false });
        if (r.exitCode === 0) {
          const out = String(r.stdout).trim();
          try {
            return { done: true, value: (out ? JSON.parse(out) : null) as T };
          } catch {
            throw new RunbookError('stepFailed', `${what}: the CLI answered with something that is not JSON: ${redact(out.slice(0, 120))}`, { hint: 'check the OCI CLI version (oci --version)' });
          }
        }
        const se = parseServiceError(String(r.stderr));
        if (isRetryable(se, Boolean(r.timedOut))) return { done: false, retryable: true, reason: r.timedOut ? 'timed out' : `${se?.status} ${se?.code}` };
        throw this.#error(what, se, String(r.stderr), r.exitCode ?? -1);
      },
      { what, deadlineMs: Math.max(this.#o.deadlineMs ?? 5 * 60_000, 2 * (opts.timeoutMs ?? 0)), initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0.5, hint: 'OCI is throttling or failing; try again later or raise the deadline' },
    );
  }

  /**
   * Runs `oci ARGS` streaming: `feed` yields what goes to its stdin, or `drain` consumes its
   * stdout. Each attempt is bounded by `timeoutMs` (the caller scales it with the transfer's
   * size) and retried like json(), calling feed/drain again from the start. If feed or drain
   * throws, the CLI is killed before its stdin is closed, so a partial upload is never committed;
   * that error is not retried. Returns the CLI's stdout (empty when drained) and stderr.
   */
  async stream(args: string[], o: { what?: string; timeoutMs: number; feed?: () => AsyncIterable<Buffer>; drain?: (out: Readable) => Promise<void> }): Promise<{ stdout: string; stderr: string }> {
    const argv = [...args, ...this.globalArgs()];
    const what = o.what ?? `oci ${args.slice(0, 3).join(' ')}`;
    return waitFor(
      async () => {
        const r = await this.#streamOnce(argv, o);
        if (r.ours) throw r.ours;
        if (r.code === 0 && !r.timedOut) return { done: true, value: { stdout: r.stdout, stderr: r.stderr } };
        const se = parseServiceError(r.stderr);
        if (isRetryable(se, r.timedOut)) return { done: false, retryable: true, reason: r.timedOut ? `no answer within ${Math.round(o.timeoutMs / 1000)} s` : `${se?.status} ${se?.code}` };
        throw this.#error(what, se, r.stderr, r.code ?? -1);
      },
      { what, deadlineMs: Math.max(this.#o.deadlineMs ?? 5 * 60_000, 3 * o.timeoutMs), initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0.5, hint: 'OCI is throttling or failing; try again later or raise the deadline' },
    );
  }

  async #streamOnce(argv: string[], o: { timeoutMs: number; feed?: () => AsyncIterable<Buffer>; drain?: (out: Readable) => Promise<void> }): Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string; ours?: unknown }> {
    const child = spawn(this.#o.bin ?? 'oci', argv, { env: this.#o.env, stdio: [o.feed ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const cout = child.stdout as Readable;
    let stderr = '';
    let stdout = '';
    let timedOut = false;
    let ours: unknown;
    (child.stderr as Readable).setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const exited = new Promise<number | null>((res) => {
      child.on('close', (code) => res(code));
      child.on('error', (e) => {
        stderr += String(e.message);
        res(127);
      });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    const work: Promise<void>[] = [];
    if (o.feed && child.stdin) work.push(pump(o.feed(), child.stdin, () => child.kill('SIGKILL')).catch((e: unknown) => { ours = e; }));
    if (o.drain) work.push(o.drain(cout).catch((e: unknown) => { ours = e; child.kill('SIGKILL'); }));
    else cout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    await Promise.all(work);
    const code = await exited;
    clearTimeout(timer);
    // An early exit of the CLI breaks the pipe under the feed: then the CLI's own answer counts.
    if (ours instanceof PipeClosed) ours = undefined;
    return { code, timedOut, stdout, stderr, ours };
  }

  #error(what: string, se: ServiceError | null, stderr: string, code: number): RunbookError {
    if (se?.status === 401) {
      return new RunbookError('precondition', `${what}: not authenticated (${se.code}): ${se.message}`, { hint: `check the auth mode (${this.#o.auth ?? process.env.OCI_CLI_AUTH ?? 'api_key'}) and keys: oci os ns get${this.globalArgs().length ? ` ${this.globalArgs().join(' ')}` : ''}` });
    }
    if (se?.status === 404) {
      return new RunbookError('stepFailed', `${what}: ${se.code}: ${se.message}`, {
        hint: 'OCI answers 404 both for a missing resource and for a missing IAM permission: check the name, the compartment, and that a policy allows this principal (e.g. "Allow dynamic-group X to manage objects in compartment Y")',
      });
    }
    if (se) return new RunbookError('stepFailed', `${what}: ${se.status} ${se.code}: ${se.message}`);
    if (code === 2) return new RunbookError('usage', `${what}: the OCI CLI rejected the command: ${redact(stderr.trim().split('\n').slice(-2).join(' '))}`, { hint: 'this is a bug in the runbook; report the command above' });
    return new RunbookError('stepFailed', `${what} exited ${code}: ${redact(stderr.trim().split('\n').slice(-3).join(' '))}`, { hint: 'is the OCI CLI installed and configured? try: oci os ns get' });
  }

  // Object Storage, as the runbooks use it.
  namespace(): Promise<string> {
    return this.json<{ data: string }>(['os', 'ns', 'get']).then((r) => r.data);
  }

  /** `object put` never prompts: the caller must choose to overwrite or to keep what is there. */
  putObject(o: { bucket: string; name: string; file: string; ifExists: 'overwrite' | 'keep'; contentMd5?: string; namespace?: string }): Promise<unknown> {
    return this.json(['os', 'object', 'put', '--bucket-name', o.bucket, '--name', o.name, '--file', o.file, o.ifExists === 'overwrite' ? '--force' : '--no-overwrite', ...(o.contentMd5 ? ['--content-md5', o.contentMd5] : []), ...(o.namespace ? ['--namespace', o.namespace] : [])]);
  }

  getObject(o: { bucket: string; name: string; file: string; namespace?: string }): Promise<unknown> {
    return this.json(['os', 'object', 'get', '--bucket-name', o.bucket, '--name', o.name, '--file', o.file, ...(o.namespace ? ['--namespace', o.namespace] : [])]);
  }

  headObject(o: { bucket: string; name: string }): Promise<Record<string, unknown>> {
    return this.json(['os', 'object', 'head', '--bucket-name', o.bucket, '--name', o.name]);
  }

  async listObjects(o: { bucket: string; prefix?: string }): Promise<{ name: string; size: number; md5?: string; 'time-created'?: string }[]> {
    const r = await this.json<{ data?: { name: string; size: number; md5?: string }[] } | null>(['os', 'object', 'list', '--bucket-name', o.bucket, '--all', ...(o.prefix ? ['--prefix', o.prefix] : []), '--fields', 'name,size,md5,timeCreated']);
    return r?.data ?? [];
  }

  deleteObject(o: { bucket: string; name: string }): Promise<unknown> {
    return this.json(['os', 'object', 'delete', '--bucket-name', o.bucket, '--name', o.name, '--force']);
  }
}

class PipeClosed extends Error {}

/** Writes an iterable into a pipe with backpressure. On a source error the child is killed before the pipe closes (no EOF, so nothing is committed). */
async function pump(src: AsyncIterable<Buffer>, w: Writable, kill: () => void): Promise<void> {
  let broken: Error | null = null;
  w.on('error', (e) => {
    broken ??= new PipeClosed(`the CLI closed its input: ${e.message}`);
  });
  const it = src[Symbol.asyncIterator]();
  try {
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      if (broken) throw broken;
      if (!w.write(n.value)) {
        await new Promise<void>((res, rej) => {
          const done = () => {
            w.off('drain', done);
            w.off('close', done);
            if (broken || w.destroyed) rej(broken ?? new PipeClosed('the CLI closed its input'));
            else res();
          };
          w.on('drain', done);
          w.on('close', done);
        });
      }
    }
  } catch (e) {
    kill();
    await it.return?.();
    w.destroy();
    throw e;
  }
  await new Promise<void>((res) => w.end(res));
}
