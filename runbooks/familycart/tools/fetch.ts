// One bounded GET with node:http(s) (Debian's Node 18: no fetch, whose first use prints an
// experimental warning into a timer's journal). Redirects are returned, not followed; a body cut
// short of its Content-Length, or larger than the bound, is an error.
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  location?: string;
  body: string;
}

export function httpGet(url: string, opts: { timeoutMs: number; maxBytes: number }): Promise<HttpAnswer> {
  const u = new URL(url);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return Promise.reject(new Error(`${url}: only http and https URLs are fetched`));
  const get = u.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer from ${u.host} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const done = (f: () => void) => {
      clearTimeout(timer);
      f();
    };
    const req = get(u, { headers: { accept: 'application/json', 'user-agent': 'runbook-cf-allowlist' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) req.destroy(new Error(`the answer from ${u.host} is larger than ${opts.maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('error', (e) => done(() => reject(new Error(`the answer from ${u.host} broke off after ${size} bytes (${e.message})`))));
      res.on('aborted', () => done(() => reject(new Error(`the answer from ${u.host} was cut off after ${size} bytes`))));
      res.on('end', () =>
        done(() => {
          const want = Number(res.headers['content-length']);
          if (!res.complete || (Number.isFinite(want) && want !== size)) return reject(new Error(`the answer from ${u.host} was cut off after ${size} of ${Number.isFinite(want) ? want : '?'} bytes`));
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') });
        }),
      );
    });
    req.on('error', (e) => done(() => reject(e)));
  });
}
