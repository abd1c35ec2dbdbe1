// A client sending requests through the stand-in load balancer for the whole of a rollout:
// quick requests back to back, and a slow one (an in-flight request) started every `slowEveryMs`.
import { request } from 'node:http';

export interface Sample {
  path: string;
  start: number;
  end: number;
  status: number;
  backend: string;
  error?: string;
}

function get(url: string): Promise<Omit<Sample, 'path' | 'start'>> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ end: Date.now(), status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? '') }));
      res.on('error', (e) => resolve({ end: Date.now(), status: 0, backend: '', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ end: Date.now(), status: 0, backend: '', error: e.message }));
    req.end();
  });
}

export function startTraffic(base: string, o: { slowMs: number; slowEveryMs: number }) {
  const samples: Sample[] = [];
  let running = true;
  const pending: Promise<void>[] = [];
  const one = async (path: string) => {
    const start = Date.now();
    samples.push({ path, start, ...(await get(`${base}${path}`)) });
  };
  const quick = (async () => {
    while (running) await one('/api/questions');
  })();
  const slowTimer = setInterval(() => pending.push(one(`/slow?ms=${o.slowMs}`)), o.slowEveryMs);
  return {
    samples,
    async stop(): Promise<Sample[]> {
      running = false;
      clearInterval(slowTimer);
      await quick;
      await Promise.all(pending);
      return samples;
    },
  };
}
