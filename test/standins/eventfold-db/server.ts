// TEST STAND-IN, NOT THE PRODUCT. EventfoldDB itself (Rust) cannot be built here; this server
// behaves like it as documented in the project's reference: the same gRPC API and health
// service, the same environment variables, the same log file format (one write and fsync per
// Append before the reply), the same start-up recovery, no sd_notify. It runs on the ARM64 VM
// under systemd exactly where the real binary would.
import * as grpc from '@grpc/grpc-js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { loadPackages } from '../../../runbooks/eventfold-db/protocol/client.ts';
import { type EventRecord, encodeBatch, encodeFileHeader, scanLog } from '../../../runbooks/eventfold-db/protocol/logformat.ts';

// One function, no top-level await: the bundle is CommonJS so it runs as a lone file anywhere.
async function main(): Promise<void> {
  const log = (level: 'INFO' | 'WARN' | 'ERROR', msg: string) => process.stdout.write(`${new Date().toISOString()}  ${level.padStart(5)} eventfold_db: ${msg}\n`);
  const die = (msg: string): never => {
    log('ERROR', msg);
    process.exit(1);
  };

  const env = process.env;
  const dataPath = env.EVENTFOLD_DATA || die('EVENTFOLD_DATA is required (the path of the log file)');
  const listen = env.EVENTFOLD_LISTEN || '[::]:2113';
  const metricsListen = env.EVENTFOLD_METRICS_LISTEN ?? '[::]:9090';
  const jwtSecret = env.EVENTFOLD_JWT_SECRET ?? '';
  if (Boolean(env.EVENTFOLD_TLS_CERT) !== Boolean(env.EVENTFOLD_TLS_KEY)) die('EVENTFOLD_TLS_CERT and EVENTFOLD_TLS_KEY must be set together');
  const num = (k: string, dflt: number): number => {
    const v = env[k];
    if (v === undefined || v === '') return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1) die(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const brokerCapacity = num('EVENTFOLD_BROKER_CAPACITY', 4096);
  num('EVENTFOLD_DEDUP_CAPACITY', 65536);
  const readPem = (k: string): Buffer => {
    try {
      return readFileSync(env[k] as string);
    } catch (e) {
      return die(`cannot read ${k} ${env[k]}: ${(e as Error).message}`);
    }
  };
  const tls = env.EVENTFOLD_TLS_CERT ? { cert: readPem('EVENTFOLD_TLS_CERT'), key: readPem('EVENTFOLD_TLS_KEY'), ca: env.EVENTFOLD_TLS_CA ? readPem('EVENTFOLD_TLS_CA') : null } : null;
  if (!existsSync(dirname(dataPath))) die(`cannot open ${dataPath}: parent directory does not exist`);

  // ---- the log: recovery, index, appends
  const events: EventRecord[] = [];
  const streams = new Map<string, EventRecord[]>();
  const index = (r: EventRecord) => {
    events.push(r);
    const s = streams.get(r.streamId) ?? [];
    s.push(r);
    streams.set(r.streamId, s);
  };
  let fd: number;
  if (!existsSync(dataPath)) {
    fd = openSync(dataPath, 'a+');
    writeSync(fd, encodeFileHeader());
    fsyncSync(fd);
    log('INFO', `created new log path=${dataPath}`);
  } else {
    const scan = await scanLog(dataPath, { onRecords: (rs) => rs.forEach(index) }).catch((e: Error) => die(`cannot open log: ${e.message}`));
    if (scan.tail === 'corrupt') die(`log is corrupt: ${scan.problem}`);
    fd = openSync(dataPath, 'r+');
    if (scan.tail === 'torn') {
      log('WARN', `truncating torn tail at offset ${scan.validEnd} (${scan.fileSize - scan.validEnd} bytes): ${scan.problem}`);
      ftruncateSync(fd, scan.validEnd);
      fsyncSync(fd);
      // Records of the dropped batch may have been indexed before the damage was found.
      const keep = scan.lastGlobalPosition === null ? 0 : Number(scan.lastGlobalPosition) + 1;
      events.splice(keep);
      for (const [k, s] of streams) {
        const kept = s.filter((r) => Number(r.globalPosition) < keep);
        if (kept.length) streams.set(k, kept);
        else streams.delete(k);
      }
    }
    closeSync(fd);
    fd = openSync(dataPath, 'a');
    log('INFO', `recovered log path=${dataPath} events=${events.length} batches=${scan.batches}`);
  }

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const status = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });
  const toWire = (r: EventRecord) => ({
    event_id: r.eventId,
    stream_id: r.streamId,
    stream_version: r.streamVersion.toString(),
    global_position: r.globalPosition.toString(),
    event_type: r.eventType,
    metadata: r.metadata,
    payload: r.payload,
    recorded_at: r.recordedAt.toString(),
  });

  // A live subscriber gets events through its stream's buffer; one that lets more than
  // EVENTFOLD_BROKER_CAPACITY events pile up has fallen behind and is cut off (INVALID_ARGUMENT),
  // as the real broker drops a lagging receiver.
  type Sub = { from: (r: EventRecord) => boolean; write: (r: EventRecord) => void };
  const subscribers = new Set<Sub>();

  type Any = any;
  let appends = 0;
  function append(req: Any): Any {
    const sid = String(req.stream_id);
    if (!UUID.test(sid)) throw status(grpc.status.INVALID_ARGUMENT, 'stream_id must be a UUID');
    if (!req.events?.length) throw status(grpc.status.INVALID_ARGUMENT, 'no events');
    const cur = streams.get(sid) ?? [];
    const ev = req.expected_version ?? {};
    if (ev.kind === 'no_stream' && cur.length) throw status(grpc.status.FAILED_PRECONDITION, `stream ${sid} exists`);
    if (ev.kind === 'exact' && (cur.length === 0 || BigInt(ev.exact) !== BigInt(cur.length - 1))) throw status(grpc.status.FAILED_PRECONDITION, `wrong expected version for ${sid}`);
    const now = BigInt(Date.now());
    const recs: EventRecord[] = req.events.map((e: Any, i: number) => {
      if (!UUID.test(String(e.event_id))) throw status(grpc.status.INVALID_ARGUMENT, 'event_id must be a UUID');
      const t = Buffer.byteLength(String(e.event_type));
      if (t < 1 || t > 256) throw status(grpc.status.INVALID_ARGUMENT, 'event_type must be 1..256 bytes');
      const r: EventRecord = { globalPosition: BigInt(events.length + i), recordedAt: now, streamId: sid, streamVersion: BigInt(cur.length + i), eventId: String(e.event_id), eventType: String(e.event_type), metadata: Buffer.from(e.metadata ?? []), payload: Buffer.from(e.payload ?? []) };
      if (70 + t + r.metadata.length + r.payload.length > 64 * 1024) throw status(grpc.status.INVALID_ARGUMENT, 'record larger than 64 KiB');
      return r;
    });
    const batch = encodeBatch(recs);
    if (writeSync(fd, batch) !== batch.length) throw status(grpc.status.INTERNAL, 'short write');
    fsyncSync(fd);
    appends++;
    recs.forEach(index);
    for (const s of subscribers) for (const r of recs) if (s.from(r)) s.write(r);
    const first = recs[0] as EventRecord;
    const last = recs.at(-1) as EventRecord;
    return { first_stream_version: first.streamVersion.toString(), last_stream_version: last.streamVersion.toString(), first_global_position: first.globalPosition.toString(), last_global_position: last.globalPosition.toString() };
  }

  function authorized(meta: grpc.Metadata): boolean {
    if (!jwtSecret) return true;
    const h = String(meta.get('authorization')[0] ?? '');
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(h);
    if (!m) return false;
    const [, head, body, sig] = m as unknown as [string, string, string, string];
    try {
      if (JSON.parse(Buffer.from(head, 'base64url').toString()).alg !== 'HS256') return false;
      const want = createHmac('sha256', jwtSecret).update(`${head}.${body}`).digest();
      const got = Buffer.from(sig, 'base64url');
      if (got.length !== want.length || !timingSafeEqual(got, want)) return false;
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
      return !(typeof claims.exp === 'number' && claims.exp * 1000 < Date.now());
    } catch {
      return false;
    }
  }

  function unary(fn: (req: Any) => Any) {
    return (call: grpc.ServerUnaryCall<Any, Any>, cb: grpc.sendUnaryData<Any>) => {
      if (!authorized(call.metadata)) return cb(status(grpc.status.UNAUTHENTICATED, 'missing or invalid bearer token'));
      try {
        cb(null, fn(call.request));
      } catch (e) {
        cb(e as grpc.ServiceError);
      }
    };
  }

  function subscribe(replay: () => EventRecord[], from: (r: EventRecord) => boolean) {
    return (call: grpc.ServerWritableStream<Any, Any>) => {
      if (!authorized(call.metadata)) return void call.emit('error', status(grpc.status.UNAUTHENTICATED, 'missing or invalid bearer token'));
      for (const r of replay()) call.write({ event: toWire(r) });
      call.write({ caught_up: {} });
      let dropped = false;
      const sub: Sub = {
        from,
        write: (r) => {
          if (dropped) return;
          if (call.writableLength >= brokerCapacity) {
            dropped = true;
            subscribers.delete(sub);
            log('WARN', `subscriber fell behind, dropping it peer=${call.getPeer()}`);
            return void call.emit('error', status(grpc.status.INVALID_ARGUMENT, 'subscriber fell behind; resubscribe from the last position seen'));
          }
          call.write({ event: toWire(r) });
        },
      };
      subscribers.add(sub);
      call.on('cancelled', () => subscribers.delete(sub));
      call.on('close', () => subscribers.delete(sub));
    };
  }

  const { eventfold, health } = loadPackages();
  const server = new grpc.Server();
  server.addService(eventfold.EventStore.service, {
    Append: unary(append),
    ReadAll: unary((req) => ({ events: events.slice(Number(req.from_position), Number(req.from_position) + Number(req.max_count)).map(toWire) })),
    ReadStream: unary((req) => {
      const s = streams.get(String(req.stream_id));
      if (!s) throw status(grpc.status.NOT_FOUND, `stream ${req.stream_id} not found`);
      return { events: s.slice(Number(req.from_version), Number(req.from_version) + Number(req.max_count)).map(toWire) };
    }),
    ListStreams: unary(() => ({ streams: [...streams].map(([id, s]) => ({ stream_id: id, event_count: String(s.length), latest_version: String(s.length - 1) })) })),
    SubscribeAll: (call: grpc.ServerWritableStream<Any, Any>) => {
      const from = BigInt(call.request.from_position ?? 0);
      subscribe(() => events.filter((r) => r.globalPosition >= from), (r) => r.globalPosition >= from)(call);
    },
    SubscribeStream: (call: grpc.ServerWritableStream<Any, Any>) => {
      const sid = String(call.request.stream_id);
      const from = BigInt(call.request.from_version ?? 0);
      subscribe(() => (streams.get(sid) ?? []).filter((r) => r.streamVersion >= from), (r) => r.streamId === sid && r.streamVersion >= from)(call);
    },
  });
  // grpc.health.v1: SERVING once bound, NOT_SERVING from the start of shutdown; no JWT needed.
  let serving = 'SERVING';
  const KNOWN = new Set(['', 'eventfold.EventStore']);
  const watchers = new Set<grpc.ServerWritableStream<Any, Any>>();
  server.addService(health.Health.service, {
    Check: (call: grpc.ServerUnaryCall<Any, Any>, cb: grpc.sendUnaryData<Any>) => (KNOWN.has(call.request.service) ? cb(null, { status: serving }) : cb(status(grpc.status.NOT_FOUND, 'unknown service'))),
    Watch: (call: grpc.ServerWritableStream<Any, Any>) => {
      if (!KNOWN.has(call.request.service)) return void call.write({ status: 'SERVICE_UNKNOWN' });
      call.write({ status: serving });
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
      call.on('close', () => watchers.delete(call));
    },
  });

  const port = await new Promise<number>((res) => {
    const creds = tls ? grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], Boolean(tls.ca)) : grpc.ServerCredentials.createInsecure();
    server.bindAsync(listen, creds, (err, p) => (err ? die(`cannot listen on ${listen}: ${err.message}`) : res(p)));
  });
  log('INFO', `listening addr=${listen.replace(/:\d+$/, `:${port}`)} tls=${tls ? (tls.ca ? 'mtls' : 'on') : 'off'} auth=${jwtSecret ? 'jwt' : 'none'}`);

  if (metricsListen !== '') {
    const m = /^(?:\[(.*)\]|([^:]*)):(\d+)$/.exec(metricsListen) ?? die(`bad EVENTFOLD_METRICS_LISTEN ${metricsListen}`);
    const http = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# HELP eventfold_events_total Events in the log.',
          '# TYPE eventfold_events_total counter',
          `eventfold_events_total ${events.length}`,
          '# HELP eventfold_appends_total Append requests written since start.',
          '# TYPE eventfold_appends_total counter',
          `eventfold_appends_total ${appends}`,
          '# HELP eventfold_streams Streams in the log.',
          '# TYPE eventfold_streams gauge',
          `eventfold_streams ${streams.size}`,
          '# HELP eventfold_global_position Global position of the last event.',
          '# TYPE eventfold_global_position gauge',
          `eventfold_global_position ${events.length ? events.length - 1 : 0}`,
          '# HELP eventfold_subscribers Open subscriptions.',
          '# TYPE eventfold_subscribers gauge',
          `eventfold_subscribers ${subscribers.size}`,
          '',
        ].join('\n'),
      );
    });
    http.on('error', (e) => die(`cannot listen for metrics on ${metricsListen}: ${e.message}`));
    http.listen(Number(m[3]), m[1] ?? m[2] ?? '::', () => {
      const a = http.address();
      log('INFO', `metrics listening addr=${typeof a === 'object' && a ? `${a.address}:${a.port}` : metricsListen}`);
    });
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => http.close());
  }

  // Graceful: health goes NOT_SERVING (watchers are told, then their streams end), new calls are
  // refused, calls in flight finish. An open subscription keeps the drain waiting, as with the
  // real server: systemd's TimeoutStopSec ends that.
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    serving = 'NOT_SERVING';
    log('INFO', `${sig} received, health NOT_SERVING, draining`);
    for (const w of watchers) {
      w.write({ status: serving });
      w.end();
    }
    watchers.clear();
    server.tryShutdown(() => {
      fsyncSync(fd);
      log('INFO', 'stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
