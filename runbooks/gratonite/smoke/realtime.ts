// Two Socket.IO clients on the API's own origin, through the same path a browser takes.
import { type Socket, io } from 'socket.io-client';
import { type Reach, agentFor, portFor } from '../../../lib/core/http-client.ts';
import { EVENTS, type MessageEvent } from './routes.ts';

export interface Live {
  socket: Socket;
  /** Resolves with the first MESSAGE_CREATE that `match` accepts, or rejects after the bound. */
  next(match: (m: MessageEvent) => boolean, timeoutMs: number, what: string): Promise<MessageEvent>;
  close(): void;
}

/** Connects with the user's token over the websocket transport only (the upgrade must work). */
/** The origin a Socket.IO client dials: with --connect-to, the pinned port (the name stays for TLS and Host). */
const dial = (url: URL, r: Reach) => (r.connectTo ? `${url.protocol}//${url.hostname}:${portFor(url, r)}` : url.origin);

export function connect(apiBase: string, token: string, r: Reach): Promise<Live> {
  const url = new URL(apiBase);
  const socket = io(dial(url, r), { transports: ['websocket'], auth: { token }, reconnection: false, timeout: r.timeoutMs, agent: agentFor(url, r) as never, ca: r.ca, forceNew: true } as never);
  const seen: MessageEvent[] = [];
  const waiters: { match: (m: MessageEvent) => boolean; done: (m: MessageEvent) => void }[] = [];
  socket.on(EVENTS.messageCreate, (m: MessageEvent) => {
    const w = waiters.findIndex((x) => x.match(m));
    if (w >= 0) waiters.splice(w, 1)[0]!.done(m);
    else seen.push(m);
  });
  const live: Live = {
    socket,
    next: (match, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const early = seen.findIndex(match);
        if (early >= 0) return resolve(seen.splice(early, 1)[0]!);
        const t = setTimeout(() => reject(new Error(`${what}: not received within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, done: (m) => (clearTimeout(t), resolve(m)) });
      }),
    close: () => void socket.close(),
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (socket.close(), reject(new Error(`Socket.IO to ${url.origin}: no connection within ${r.timeoutMs} ms`))), r.timeoutMs);
    socket.once('connect', () => (clearTimeout(t), resolve(live)));
    socket.once('connect_error', (e: Error) => (clearTimeout(t), socket.close(), reject(new Error(`Socket.IO to ${url.origin}: ${e.message}`))));
  });
}

/** An Engine.IO websocket opened through the proxy, no account needed: the bring-up's websocket gate. */
export function websocketOpens(apiBase: string, r: Reach): Promise<string> {
  const url = new URL(apiBase);
  const socket = io(dial(url, r), { transports: ['websocket'], reconnection: false, timeout: r.timeoutMs, agent: agentFor(url, r) as never, ca: r.ca, forceNew: true, autoConnect: false } as never);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (socket.close(), reject(new Error(`no websocket to ${url.origin} within ${r.timeoutMs} ms`))), r.timeoutMs);
    socket.io.open((err?: Error) => {
      clearTimeout(t);
      const transport = (socket.io as unknown as { engine?: { transport?: { name?: string } } }).engine?.transport?.name;
      socket.io.engine?.close();
      socket.close();
      if (err) reject(new Error(`websocket to ${url.origin}/socket.io/ failed: ${err.message}`));
      else resolve(`websocket to ${url.origin}/socket.io/ open (transport ${transport ?? 'unknown'})`);
    });
  });
}
