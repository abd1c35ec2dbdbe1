import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** The network address as an integer (host bits zero). */
  net: bigint;
  bits: number;
}

const width = (f: 4 | 6) => (f === 4 ? 32 : 128);

function v4(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
}

/** An IPv6 address (already valid by isIP) as an integer; an embedded IPv4 tail counts as two groups. */
function v6(a: string): bigint {
  let s = a;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)?.[1];
  if (tail) {
    const n = v4(tail);
    s = `${s.slice(0, -tail.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [l, r] = s.split('::') as [string, string | undefined];
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r !== '' ? r.split(':') : [];
  const groups = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

const toInt = (addr: string, f: 4 | 6) => (f === 4 ? v4(addr) : v6(addr));

/**
 * A CIDR checked completely: an IPv4 address of four decimal octets (no leading zeros, which some
 * tools read as octal) or any IPv6 address, a prefix length within the family's width, and no
 * host bits set (10.0.1.5/24 is refused, naming 10.0.1.0/24). Returns the parsed CIDR or what is wrong.
 */
export function parseCidr(c: string): Cidr | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(c);
  if (!m?.[1] || !m[2]) return `"${c}" is not ADDRESS/PREFIX`;
  const [, addr, bitsS] = m;
  const family = isIP(addr);
  if (family === 0 || (family === 4 && addr.split('.').some((o) => o.length > 1 && o.startsWith('0')))) return `"${c}" has an invalid address`;
  const f = family as 4 | 6;
  const bits = Number(bitsS);
  if (bits > width(f) || (bitsS.length > 1 && bitsS.startsWith('0'))) return `"${c}" has a prefix length outside 0-${width(f)}`;
  const n = toInt(addr, f);
  const hostMask = (1n << BigInt(width(f) - bits)) - 1n;
  if ((n & hostMask) !== 0n) return `"${c}" has host bits set (the network is ${formatNet(n & ~hostMask, f)}/${bits})`;
  return { family: f, net: n, bits };
}

function formatNet(n: bigint, f: 4 | 6): string {
  if (f === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Whether an address lies inside a CIDR (IPv4 or IPv6); addresses of the other family never do. */
export function cidrContains(cidr: string, addr: string): boolean {
  const c = parseCidr(cidr);
  const fam = isIP(addr.replace(/^::ffff:(?=\d+\.)/i, ''));
  if (typeof c === 'string' || fam !== c.family) return false;
  const shift = BigInt(width(c.family) - c.bits);
  return toInt(addr.replace(/^::ffff:(?=\d+\.)/i, ''), c.family) >> shift === c.net >> shift;
}

/** The families (4, 6) whose whole address space these CIDRs cover together (0.0.0.0/0, or its halves...). */
export function coveredFamilies(cidrs: string[]): (4 | 6)[] {
  const out: (4 | 6)[] = [];
  for (const f of [4, 6] as const) {
    const ranges = cidrs
      .map(parseCidr)
      .filter((c): c is Cidr => typeof c !== 'string' && c.family === f)
      .map((c) => [c.net, c.net + (1n << BigInt(width(f) - c.bits))] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let reach = 0n;
    for (const [lo, hi] of ranges) if (lo <= reach && hi > reach) reach = hi;
    if (reach === 1n << BigInt(width(f))) out.push(f);
  }
  return out;
}
