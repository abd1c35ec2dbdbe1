// A minimal QMP client over qemu's unix socket (`-qmp unix:PATH,server=on,wait=off`): JSON lines,
// the greeting, `qmp_capabilities` first, then one command at a time. Events are ignored.
import { connect, type Socket } from 'node:net';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; what: string };

export class Qmp {
  #buf = '';
  #queue: Pending[] = [];
  #closed: Error | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly path: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.#onData(d));
    const fail = (e?: Error) => {
      this.#closed ??= e ?? new Error(`QMP ${path}: connection closed`);
      for (const p of this.#queue.splice(0)) p.reject(new Error(`QMP ${p.what}: ${this.#closed.message}`));
    };
    sock.on('error', fail);
    sock.on('close', () => fail());
  }

  /** Connects (retrying while qemu has not created the socket yet) and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 30_000, alive: () => boolean = () => true): Promise<Qmp> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((res, rej) => {
          const s = connect(path);
          s.once('connect', () => res(s));
          s.once('error', rej);
        });
        const q = new Qmp(sock, path);
        await q.#expect('greeting');
        await q.execute('qmp_capabilities');
        return q;
      } catch (err) {
        if (Date.now() > end || !alive()) throw new Error(`QMP socket ${path} does not answer after ${timeoutMs / 1000} s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  #onData(d: string): void {
    this.#buf += d;
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl).trim();
      this.#buf = this.#buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as { QMP?: unknown; event?: string; return?: unknown; error?: { class: string; desc: string } };
      if (msg.event) continue;
      const p = this.#queue.shift();
      if (!p) continue;
      if (msg.error) p.reject(new Error(`QMP ${p.what}: ${msg.error.class}: ${msg.error.desc}`));
      else p.resolve(msg.QMP ?? msg.return);
    }
  }

  #expect(what: string): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#queue.push({ resolve, reject, what }));
  }

  /** Runs one command and resolves with its `return` value (rejects on a QMP error). */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const p = this.#expect(command) as Promise<T>;
    this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    return p;
  }

  /** The run state: 'running', 'paused', 'inmigrate', 'postmigrate', ... */
  async status(): Promise<string> {
    return (await this.execute<{ status: string }>('query-status')).status;
  }

  close(): void {
    this.sock.destroy();
  }
}
