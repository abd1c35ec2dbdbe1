// The frame hub of one private link between test VMs (see link.ts). Each qemu joins with
// `-netdev stream,addr.type=unix,addr.path=SOCKET`; qemu's stream framing is a 4-byte big-endian
// length followed by the Ethernet frame. Every frame is copied to every other member, nothing else:
// the host has no interface on the link, so nothing on it reaches outside the VMs.
// Usage: node link-hub.mjs SOCKET   (prints "ready" once listening; exits when stdin closes)
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';

const path = process.argv[2];
if (!path) {
  console.error('usage: link-hub.mjs SOCKET');
  process.exit(2);
}
const members = new Set();
let frames = 0;

const server = createServer((sock) => {
  members.add(sock);
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      const frame = buf.subarray(0, 4 + len);
      buf = buf.subarray(4 + len);
      frames++;
      for (const m of members) if (m !== sock && !m.destroyed) m.write(frame);
    }
  });
  const leave = () => members.delete(sock);
  sock.on('close', leave);
  sock.on('error', leave);
});

rmSync(path, { force: true });
server.listen(path, () => process.stdout.write('ready\n'));
// The harness holds stdin open; when it goes away (test process ended), so does the hub.
process.stdin.on('end', () => shutdown());
process.stdin.on('error', () => shutdown());
process.stdin.resume();
process.on('SIGTERM', () => shutdown());

function shutdown() {
  process.stderr.write(`link hub ${path}: ${frames} frames forwarded\n`);
  for (const m of members) m.destroy();
  server.close();
  rmSync(path, { force: true });
  process.exit(0);
}
