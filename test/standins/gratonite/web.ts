// Stand-in for the Gratonite web app (a static Vite build in the real image): one HTML page on
// the web container's port. It is not Gratonite.
import http from 'node:http';

const PORT = Number(process.env.PORT ?? 80);
const HOST = process.env.HOST ?? '127.0.0.1';
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Gratonite (stand-in)</title></head><body><div id="root" data-api="${(process.env.VITE_API_URL ?? '').replace(/[<>"&]/g, '')}"></div></body></html>\n`;
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(page);
});
server.listen(PORT, HOST, () => {
  const a = server.address();
  process.stdout.write(`gratonite-web stand-in listening on ${HOST}:${typeof a === 'object' && a ? a.port : PORT}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
