// A private Ethernet link between test VMs: a frame hub (link-hub.mjs) on a unix socket that each
// VM's second NIC joins with `-netdev stream`. Addresses are static in 10.77.0.0/24, set in the
// guest by the harness (lib/vm/link-nic.ts: addresses, MACs and the guest's set-up); the host
// has no interface on the link and nothing on it is routed.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { type LinkAttachment as NicAttachment, linkMac } from '../../lib/vm/link-nic.ts';

const HERE = new URL('.', import.meta.url).pathname;
const TMP = join(resolve(HERE, '../..'), 'test/.tmp');

/** The link's subnet; hosts are .11, .12, ... by convention (any of .1-.254 is accepted). */
export const LINK_SUBNET = '10.77.0.0/24';

export class Link {
  #hub: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly socketPath: string,
  ) {}

  /** An attachment for one VM: its address on the link is 10.77.0.<host>. */
  host(host: number): LinkAttachment {
    if (!Number.isInteger(host) || host < 1 || host > 254) throw new Error(`link host number ${host}: use 1-254 (10.77.0.<host>)`);
    return { link: this, host };
  }

  /** @internal */
  async startHub(): Promise<void> {
    const hub = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', process.execPath, join(HERE, 'link-hub.mjs'), this.socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#hub = hub;
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`link hub on ${this.socketPath} did not start in 15 s`)), 15_000);
      hub.once('error', rej);
      hub.once('exit', (c) => rej(new Error(`link hub on ${this.socketPath} exited (${c}) before it was ready`)));
      hub.stdout?.once('data', () => {
        clearTimeout(t);
        res();
      });
    });
    hub.removeAllListeners('exit');
    links.add(this);
  }

  /** Stops the hub (by its PID) and removes its folder; VMs on it keep running, cut off. */
  close(): void {
    const hub = this.#hub;
    this.#hub = undefined;
    links.delete(this);
    if (hub && hub.exitCode === null && hub.pid) {
      hub.stdin?.end();
      try {
        process.kill(hub.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An attachment whose link is a test hub (see LinkAttachment in lib/vm/link-nic.ts). */
export interface LinkAttachment extends NicAttachment {
  link: Link;
}

const links = new Set<Link>();
process.on('exit', () => {
  for (const l of links) l.close();
});

/** Starts a new private link (its own hub); close() it in afterAll. */
export async function createLink(name = 'link'): Promise<Link> {
  mkdirSync(TMP, { recursive: true });
  // A unix socket path must stay under 108 bytes: the folder name is kept short.
  const dir = mkdtempSync(join(TMP, `${name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 20)}-`));
  const link = new Link(dir, join(dir, 'hub.sock'));
  await link.startHub();
  return link;
}

/**
 * Joins the link from the test process itself (as 10.77.0.254, MAC 52:54:00:4d:00:fe) and asks
 * who has `address` (ARP); resolves with the MAC that answers, or undefined after `timeoutMs`.
 * A check that a VM is on the link with its address, without a second VM.
 */
export function arpWhoHas(link: Link, address: string, timeoutMs = 10_000): Promise<string | undefined> {
  const ip = (a: string) => Buffer.from(a.split('.').map(Number));
  const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
  const me = mac(linkMac(254));
  const arp = Buffer.concat([Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]), me, ip('10.77.0.254'), Buffer.alloc(6), ip(address)]);
  const frame = Buffer.concat([Buffer.alloc(6, 0xff), me, Buffer.from([0x08, 0x06]), arp]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(frame.length);
  return new Promise((res) => {
    const sock = createConnection(link.socketPath);
    let buf = Buffer.alloc(0);
    const done = (v: string | undefined) => {
      clearInterval(resend);
      clearTimeout(timer);
      sock.destroy();
      res(v);
    };
    const send = () => sock.write(Buffer.concat([len, frame]));
    const resend = setInterval(send, 1_000);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('connect', send);
    sock.on('error', () => done(undefined));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const f = buf.subarray(4, 4 + buf.readUInt32BE(0));
        buf = buf.subarray(4 + f.length);
        // An ARP reply (op 2) from `address` to us: its sender MAC is the answer.
        if (f.length >= 42 && f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2 && f.subarray(28, 32).equals(ip(address))) {
          done([...f.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':'));
        }
      }
    });
  });
}
