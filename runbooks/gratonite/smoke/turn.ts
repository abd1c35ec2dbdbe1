// A TURN Allocate (RFC 8656) with long-term credentials over UDP or TCP: proves coturn hands out
// a relay address for the credential the API gives clients. Written here rather than calling
// turnutils_uclient because that tool takes the password on its command line.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

const MAGIC = 0x2112a442;
const ATTR = { username: 0x0006, integrity: 0x0008, error: 0x0009, realm: 0x0014, nonce: 0x0015, relayed: 0x0016, transport: 0x0019 };

interface Msg {
  type: number;
  attrs: Map<number, Buffer>;
}

function encode(type: number, tid: Buffer, attrs: [number, Buffer][], key?: Buffer): Buffer {
  const body: Buffer[] = [];
  for (const [t, v] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    body.push(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  let payload = Buffer.concat(body);
  const header = (len: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC, 4);
    tid.copy(h, 8);
    return h;
  };
  if (key) {
    // The HMAC covers the message up to the integrity attribute, with a length that includes it.
    const mac = createHmac('sha1', key).update(Buffer.concat([header(payload.length + 24), payload])).digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(ATTR.integrity, 0);
    h.writeUInt16BE(20, 2);
    payload = Buffer.concat([payload, h, mac]);
  }
  return Buffer.concat([header(payload.length), payload]);
}

function decode(b: Buffer): Msg {
  const attrs = new Map<number, Buffer>();
  let at = 20;
  const end = 20 + b.readUInt16BE(2);
  while (at + 4 <= end) {
    const t = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    attrs.set(t, b.subarray(at + 4, at + 4 + len));
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: b.readUInt16BE(0), attrs };
}

const errorOf = (m: Msg) => {
  const e = m.attrs.get(ATTR.error);
  return e ? { code: (e[2]! & 7) * 100 + e[3]!, reason: e.subarray(4).toString('utf8') } : undefined;
};

function relayedAddress(m: Msg): string {
  const a = m.attrs.get(ATTR.relayed);
  if (!a || a[1] !== 1) return 'an address';
  const port = a.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [0, 1, 2, 3].map((i) => a[4 + i]! ^ ((MAGIC >>> (24 - 8 * i)) & 0xff));
  return `${ip.join('.')}:${port}`;
}

/** Sends one request and waits for the response with the same transaction id. */
type Exchange = (req: Buffer) => Promise<Buffer>;

function udpExchange(host: string, port: number, timeoutMs: number): { ex: Exchange; close: () => void } {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const ex: Exchange = (req) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer over UDP from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      sock.once('message', (m) => {
        clearTimeout(t);
        resolve(m);
      });
      sock.send(req, port, host, (e) => e && reject(e));
    });
  return { ex, close: () => sock.close() };
}

function tcpExchange(host: string, port: number, timeoutMs: number): { ex: Exchange; close: () => void } {
  const sock = net.connect({ host, port });
  sock.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  const ex: Exchange = (req) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer over TCP from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      const onErr = (e: Error) => {
        clearTimeout(t);
        reject(new Error(`TCP ${host}:${port}: ${e.message}`));
      };
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
          const n = 20 + buf.readUInt16BE(2);
          const m = buf.subarray(0, n);
          buf = buf.subarray(n);
          clearTimeout(t);
          sock.off('data', onData);
          sock.off('error', onErr);
          resolve(m);
        }
      };
      sock.on('data', onData);
      sock.once('error', onErr);
      sock.write(req);
    });
  return { ex, close: () => sock.destroy() };
}

/** Allocates a UDP relay over `transport`; resolves with the relayed address or throws why not. */
export async function turnAllocate(o: { host: string; port: number; transport: 'udp' | 'tcp'; username: string; password: string; timeoutMs: number }): Promise<string> {
  const { ex, close } = (o.transport === 'udp' ? udpExchange : tcpExchange)(o.host, o.port, o.timeoutMs);
  try {
    const udpRelay: [number, Buffer] = [ATTR.transport, Buffer.from([17, 0, 0, 0])];
    const first = decode(await ex(encode(0x0003, randomBytes(12), [udpRelay])));
    if (first.type === 0x0103) return relayedAddress(first);
    const err = errorOf(first);
    if (err?.code !== 401) throw new Error(`Allocate refused before authentication: ${err ? `${err.code} ${err.reason}` : `message type 0x${first.type.toString(16)}`}`);
    const realm = first.attrs.get(ATTR.realm);
    const nonce = first.attrs.get(ATTR.nonce);
    if (!realm || !nonce) throw new Error('the 401 carried no REALM or NONCE');
    const key = createHash('md5').update(`${o.username}:${realm.toString('utf8')}:${o.password}`).digest();
    const second = decode(await ex(encode(0x0003, randomBytes(12), [udpRelay, [ATTR.username, Buffer.from(o.username)], [ATTR.realm, realm], [ATTR.nonce, nonce]], key)));
    if (second.type === 0x0103) return relayedAddress(second);
    const e2 = errorOf(second);
    throw new Error(`Allocate with the TURN credential refused: ${e2 ? `${e2.code} ${e2.reason}` : `message type 0x${second.type.toString(16)}`}`);
  } finally {
    close();
  }
}
