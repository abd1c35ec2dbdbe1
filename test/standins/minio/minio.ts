// Stand-in for the MinIO server (`minio server DIR`), as far as Gratonite's compose file and
// bring-up use it: the health endpoints its `mc ready` healthcheck reads, and buckets made and
// checked by `mc mb` / `mc stat` (test/standins/minio/mc.ts). It is not MinIO: no S3 objects, no
// signatures. What it copies from the real server: it refuses to start without MINIO_ROOT_USER of
// at least 3 and MINIO_ROOT_PASSWORD of at least 8 characters, listens on :9000 (or --address), answers
// /minio/health/live and /minio/health/ready without auth, and refuses bucket calls whose
// credentials are not the root user's (403) or whose name is not a valid bucket name (400).
// Buckets are folders under DIR, so they survive a restart as MinIO's do.
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv.splice(argv.indexOf(name), 2)[1] : undefined);
const address = flag('--address') ?? ':9000';
flag('--console-address');
const [cmd, dir] = argv;
if (cmd !== 'server' || !dir) {
  process.stderr.write('usage: minio server DIR [--address [HOST]:PORT] [--console-address ADDR]\n');
  process.exit(1);
}
const user = process.env.MINIO_ROOT_USER ?? '';
const password = process.env.MINIO_ROOT_PASSWORD ?? '';
if (user.length < 3) (process.stderr.write('FATAL Unable to validate credentials inherited from the shell environment: Invalid credentials: access key length should be at least 3\n'), process.exit(1));
if (password.length < 8) (process.stderr.write('FATAL Unable to validate credentials inherited from the shell environment: Invalid credentials: secret key length should be at least 8\n'), process.exit(1));
mkdirSync(dir, { recursive: true });

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const xml = (res: http.ServerResponse, status: number, code: string) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/xml');
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code></Error>\n`);
};

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && (path === '/minio/health/live' || path === '/minio/health/ready')) return void res.end();
  const bucket = path.split('/')[1] ?? '';
  // The stand-in's credential header (test/standins/minio/mc.ts sends it): "user:password".
  if (req.headers['x-standin-credentials'] !== `${user}:${password}`) return xml(res, 403, 'InvalidAccessKeyId');
  if (!BUCKET.test(bucket) || path !== `/${bucket}`) return xml(res, 400, 'InvalidBucketName');
  const where = join(dir, bucket);
  if (req.method === 'HEAD') return void ((res.statusCode = existsSync(where) ? 200 : 404), res.end());
  if (req.method === 'PUT') {
    if (existsSync(where)) return xml(res, 409, 'BucketAlreadyOwnedByYou');
    mkdirSync(where);
    return void res.end();
  }
  return xml(res, 501, 'NotImplemented');
});
const at = address.lastIndexOf(':');
server.listen(Number(address.slice(at + 1)), address.slice(0, at) || '0.0.0.0', () => process.stdout.write(`MinIO stand-in: API on ${address}, data in ${dir}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
