// The MinIO stand-ins (server and mc) do what Gratonite's compose file needs of the real ones and
// refuse what they would refuse: short root credentials, wrong credentials, an existing bucket
// without --ignore-existing, a bucket that is not there.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/vm/free-port.ts';
import { started } from './gratonite-world.ts';

const SERVER = new URL('../standins/minio/minio.ts', import.meta.url).pathname;
const MC = new URL('../standins/minio/mc.ts', import.meta.url).pathname;
const procs: ResultPromise[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGTERM');
});

const mc = (env: Record<string, string>, ...args: string[]) => execa(process.execPath, ['--import', 'tsx', MC, ...args], { env: { ...process.env, ...env }, reject: false });

describe('MinIO stand-ins', () => {
  it('refuses to start with a root password under 8 characters', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', SERVER, 'server', mkdtempSync(join(tmpdir(), 'minio-')), '--address', '127.0.0.1:1'], { env: { ...process.env, MINIO_ROOT_USER: 'gratonite', MINIO_ROOT_PASSWORD: 'short' }, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/secret key length should be at least 8/);
  });

  it('ready, mb (idempotent only with --ignore-existing), stat; wrong credentials refused', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'minio-'));
    await started(procs, process.execPath, ['--import', 'tsx', SERVER, 'server', dir, '--console-address', ':9001', '--address', `127.0.0.1:${port}`], { MINIO_ROOT_USER: 'gratonite', MINIO_ROOT_PASSWORD: 'password-1' }, /API on/, 'the MinIO stand-in');
    const good = { MC_HOST_local: `http://gratonite:password-1@127.0.0.1:${port}` };
    expect((await mc(good, 'ready', 'local')).exitCode).toBe(0);
    expect((await mc(good, 'stat', 'local/gratonite')).stderr).toMatch(/Bucket does not exist/);
    expect((await mc(good, 'mb', '--ignore-existing', 'local/gratonite')).exitCode).toBe(0);
    expect((await mc(good, 'mb', '--ignore-existing', 'local/gratonite')).exitCode).toBe(0);
    const again = await mc(good, 'mb', 'local/gratonite');
    expect([again.exitCode, again.stderr]).toEqual([1, expect.stringMatching(/already own it/)]);
    expect((await mc(good, 'stat', 'local/gratonite')).exitCode).toBe(0);
    const wrong = await mc({ MC_HOST_local: `http://gratonite:password-2@127.0.0.1:${port}` }, 'stat', 'local/gratonite');
    expect([wrong.exitCode, wrong.stderr]).toEqual([1, expect.stringMatching(/Access Key Id/)]);
    expect((await mc({}, 'mb', 'nowhere/x')).stderr).toMatch(/Unable to find alias nowhere/);
  }, 30_000);
});
