// TriviaPay rollout figures against the stand-ins (no OCI): wall time and OCI CLI calls per
// rollout for pool sizes 1, 2 and 4, and how long after a backend turns OK the runbook notices.
// The load balancer's health check is scaled down (interval 150 ms, 2 retries); the runbook polls
// every 0.2 s and drains for 1 s. Each CLI call is a fresh Node process, as the real CLI is a
// fresh Python one (1-2 s each on OCI: multiply the call counts to estimate real time).
import { FAST, poolSummary, runbook, startWorld, waitUntil } from '../../test/unit/triviapay-world.ts';

const sizes = (process.env.BENCH_POOL_SIZES ?? '1,2,4').split(',').map(Number);
console.log(`health check: interval ${FAST.intervalMs} ms, timeout ${FAST.timeoutMs} ms, ${FAST.retries} retries; POLL_SECONDS 0.2, BACKEND_DRAIN_TIMEOUT_SECONDS 1`);
for (const size of sizes) {
  const w = await startWorld({ size, tag: 'A' });
  try {
    const before = w.calls().length;
    const t0 = Date.now();
    const p = runbook(w, 'triviapay.rollout', w.env({ IMAGE_TAG: 'B' }));
    const noticed = new Map<string, number>();
    p.stdout?.on('data', (d: Buffer) => {
      for (const m of String(d).matchAll(/backend (\d+\.\d+\.\d+\.\d+:\d+) \(instance [^)]*\) is OK/g)) if (!noticed.has(m[1] as string)) noticed.set(m[1] as string, Date.now());
    });
    const r = await p;
    const ms = Date.now() - t0;
    if (r.exitCode !== 0) throw new Error(`rollout of size ${size} failed: ${String(r.stderr)}`);
    await waitUntil(() => poolSummary(w.state()).images.every((i) => i === 'B'), 10_000, 'the pool on B');
    const calls = w.calls().length - before;
    const health = w.state().health;
    const lags = [...noticed].map(([name, at]) => {
      const h = Object.entries(health).find(([k]) => k.endsWith(`/${name}`))?.[1];
      return h ? at - h.since : NaN;
    }).filter((x) => Number.isFinite(x));
    const avg = lags.reduce((a, b) => a + b, 0) / Math.max(1, lags.length);
    console.log(`pool size ${size}: rollout ${(ms / 1000).toFixed(1)} s, ${calls} OCI CLI calls; backend OK -> noticed: mean ${Math.round(avg)} ms, max ${Math.round(Math.max(...lags, 0))} ms (${lags.length} backends)`);
  } finally {
    await w.stop();
  }
}
