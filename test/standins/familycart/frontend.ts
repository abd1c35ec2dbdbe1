// Stand-in for the FamilyCart frontend (Next.js in the real image): one HTML page on / at the
// frontend's port, 404 elsewhere. It is not FamilyCart.
import http from 'node:http';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '0.0.0.0';
const page = '<!doctype html><html><head><meta charset="utf-8"><title>FamilyCart (stand-in)</title></head><body><h1>FamilyCart frontend stand-in</h1></body></html>\n';
const server = http.createServer((req, res) => {
  const root = (req.method === 'GET' || req.method === 'HEAD') && new URL(req.url ?? '/', 'http://x').pathname === '/';
  res.statusCode = root ? 200 : 404;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(root ? page : '<!doctype html><title>404</title><h1>404: This page could not be found.</h1>\n');
});
server.listen(PORT, HOST, () => {
  const a = server.address();
  process.stdout.write(`familycart-frontend stand-in listening on ${HOST}:${typeof a === 'object' && a ? a.port : PORT}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
