// A small EventfoldDB client for smoke checks and restore proofs: health, Append, ReadAll,
// ReadStream, ListStreams, SubscribeAll. Every unary call carries a deadline.
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { eventfoldProto, healthProto } from './protos.ts';

const OPTS: loader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Any = any;

function definition(text: string): loader.PackageDefinition {
  const root = protobuf.parse(text, { keepCase: true }).root;
  return loader.fromJSON(root.toJSON(), OPTS);
}

export function loadPackages(): { eventfold: Any; health: Any } {
  const ef = grpc.loadPackageDefinition(definition(eventfoldProto())) as Any;
  const h = grpc.loadPackageDefinition(definition(healthProto())) as Any;
  return { eventfold: ef.eventfold, health: h.grpc.health.v1 };
}

export interface Recorded {
  event_id: string;
  stream_id: string;
  stream_version: string;
  global_position: string;
  event_type: string;
  metadata: Buffer;
  payload: Buffer;
  recorded_at: string;
}

export type Expected = { any: object } | { no_stream: object } | { exact: number | string };

export interface ClientOptions {
  /** Per-call deadline (default 2 s). */
  deadlineMs?: number;
  /** An HS256 JWT sent as `authorization: Bearer ...` on EventStore calls (never on health). */
  token?: string;
  /** TLS: the CA that signed the server's certificate (and a client pair for mTLS). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string };
}

export type SubscribeMessage = { event: Recorded } | { caught_up: true };

export class EventfoldClient {
  readonly #store: Any;
  readonly #health: Any;
  readonly #deadlineMs: number;
  readonly #meta = new grpc.Metadata();

  constructor(address: string, o: ClientOptions = {}) {
    const { eventfold, health } = loadPackages();
    const creds = o.tls ? grpc.credentials.createSsl(o.tls.ca ?? null, o.tls.key ?? null, o.tls.cert ?? null) : grpc.credentials.createInsecure();
    const chan = o.tls?.serverName ? { 'grpc.ssl_target_name_override': o.tls.serverName } : {};
    this.#store = new eventfold.EventStore(address, creds, chan);
    this.#health = new health.Health(address, creds, chan);
    this.#deadlineMs = o.deadlineMs ?? 2_000;
    if (o.token) this.#meta.set('authorization', `Bearer ${o.token}`);
  }

  #call<T>(client: Any, method: string, req: object, meta = this.#meta): Promise<T> {
    return new Promise((res, rej) => {
      client[method](req, meta, { deadline: Date.now() + this.#deadlineMs }, (err: grpc.ServiceError | null, out: T) => (err ? rej(err) : res(out)));
    });
  }

  async health(service = ''): Promise<string> {
    const r = await this.#call<{ status: string }>(this.#health, 'Check', { service }, new grpc.Metadata());
    return r.status;
  }

  append(streamId: string, expected: Expected, events: { event_id: string; event_type: string; metadata?: Buffer; payload?: Buffer }[]) {
    return this.#call<{ first_global_position: string; last_global_position: string; first_stream_version: string; last_stream_version: string }>(this.#store, 'Append', {
      stream_id: streamId,
      expected_version: expected,
      events: events.map((e) => ({ metadata: Buffer.alloc(0), payload: Buffer.alloc(0), ...e })),
    });
  }

  async readAll(fromPosition = 0, maxCount = 1000): Promise<Recorded[]> {
    const r = await this.#call<{ events: Recorded[] }>(this.#store, 'ReadAll', { from_position: fromPosition, max_count: maxCount });
    return r.events;
  }

  async readStream(streamId: string, fromVersion = 0, maxCount = 1000): Promise<Recorded[]> {
    const r = await this.#call<{ events: Recorded[] }>(this.#store, 'ReadStream', { stream_id: streamId, from_version: fromVersion, max_count: maxCount });
    return r.events;
  }

  async listStreams(): Promise<{ stream_id: string; event_count: string; latest_version: string }[]> {
    const r = await this.#call<{ streams: { stream_id: string; event_count: string; latest_version: string }[] }>(this.#store, 'ListStreams', {});
    return r.streams;
  }

  /**
   * Replays from `fromPosition`, then `{ caught_up: true }`, then live events, until cancel().
   * No deadline: a subscription is open-ended by design.
   */
  subscribeAll(fromPosition: number, onMessage: (m: SubscribeMessage) => void, onEnd?: (err: grpc.ServiceError | null) => void): { cancel(): void } {
    const call = this.#store.SubscribeAll({ from_position: fromPosition }, this.#meta);
    call.on('data', (m: { content?: string; event?: Recorded }) => onMessage(m.content === 'event' && m.event ? { event: m.event } : { caught_up: true }));
    // The final status arrives once, whatever the order of 'error' and 'end'.
    call.on('error', () => undefined);
    call.on('status', (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK || st.code === grpc.status.CANCELLED) return onEnd?.(null);
      onEnd?.(Object.assign(new Error(`${st.code} ${grpc.status[st.code]}: ${st.details}`), st) as grpc.ServiceError);
    });
    return { cancel: () => call.cancel() };
  }

  /** Every event, page by page. */
  async readEverything(page = 1000): Promise<Recorded[]> {
    const out: Recorded[] = [];
    for (;;) {
      const batch = await this.readAll(out.length, page);
      out.push(...batch);
      if (batch.length < page) return out;
    }
  }

  /**
   * Connects (TCP and, with TLS, the handshake) within `timeoutMs`, so that a call timed after it
   * measures the server's answer rather than the client's set-up (slow on a small or emulated CPU).
   */
  connect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ready = (client: Any) => new Promise<void>((res, rej) => client.waitForReady(deadline, (e?: Error) => (e ? rej(new Error(`no connection within ${timeoutMs} ms: ${e.message}`)) : res())));
    return Promise.all([ready(this.#store), ready(this.#health)]).then(() => undefined);
  }

  close(): void {
    this.#store.close();
    this.#health.close();
  }
}

/** A client for `address` ("127.0.0.1:2113", "[::1]:2113"); the channel connects on first use. */
export function connect(address: string, o: ClientOptions = {}): EventfoldClient {
  return new EventfoldClient(address, o);
}
