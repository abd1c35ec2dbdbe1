// HTTP(S) from the machine running the checks (smoke, gates) to a system's public names, with two test hooks that change
// nothing else: connect every name to one host:port (like curl --connect-to) while the name still
// goes into SNI and Host, and trust one more CA (Caddy's local CA in a test).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { LookupFunction } from 'node:net';

export interface Reach {
  /** "host:port" every connection goes to instead of DNS and the URL's port. */
  connectTo?: string;
  /** PEM text of one more trusted CA. */
  ca?: string;
  timeoutMs: number;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export const readCa = (file: string): string | undefined => (file ? readFileSync(file, 'utf8') : undefined);

const pinned = (connectTo: string): { port: number; lookup: LookupFunction } => {
  const i = connectTo.lastIndexOf(':');
  const host = connectTo.slice(0, i);
  const lookup: LookupFunction = (_name, opts, cb) => {
    const family = host.includes(':') ? 6 : 4;
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: host, family }]);
    else cb(null, host, family);
  };
  return { port: Number(connectTo.slice(i + 1)), lookup };
};

/** Agent options for a URL (also given to socket.io-client, so its websocket takes the same path). */
export function agentFor(url: URL, r: Reach): http.Agent {
  const pin = r.connectTo ? pinned(r.connectTo) : undefined;
  const opts = { keepAlive: false, ...(pin ? { lookup: pin.lookup } : {}) };
  if (url.protocol === 'https:') return new https.Agent({ ...opts, ca: r.ca ? [...rootCertificates, r.ca] : undefined });
  return new http.Agent(opts);
}

/** The port a connection to `url` really uses (the pinned one when set). */
export const portFor = (url: URL, r: Reach): number => (r.connectTo ? pinned(r.connectTo).port : Number(url.port || (url.protocol === 'https:' ? 443 : 80)));

/** One bounded request; never follows redirects (a redirect is an answer the checks look at). */
export function request(url: string, r: Reach, o: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      { protocol: u.protocol, hostname: u.hostname, port: portFor(u, r), path: `${u.pathname}${u.search}`, method: o.method ?? 'GET', headers: { host: u.host, ...o.headers }, agent: agentFor(u, r), servername: u.hostname, timeout: r.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${r.timeoutMs} ms`)));
    req.on('error', (e) => reject(new Error(`${o.method ?? 'GET'} ${url}: ${e.message}`)));
    req.end(o.body);
  });
}

/** JSON body of an answer, or a readable reason it is not JSON. */
export function json<T>(a: Answer): T {
  try {
    return JSON.parse(a.body.toString('utf8')) as T;
  } catch {
    throw new Error(`answered ${a.status} with something that is not JSON: ${a.body.toString('utf8').slice(0, 120)}`);
  }
}

/** A multipart/form-data body with one file field and plain fields. */
export function multipart(fields: Record<string, string>, file: { field: string; name: string; type: string; data: Buffer }): { body: Buffer; type: string } {
  const boundary = `----runbook-check-${Date.now().toString(36)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${file.field}"; filename="${file.name}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}
