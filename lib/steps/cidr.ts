import { isIP } from 'node:net';

function v4(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
}

function v6(a: string): bigint {
  const [l, r] = a.split('::') as [string, string | undefined];
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r !== '' ? r.split(':') : [];
  const groups = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** Whether an address lies inside a CIDR (IPv4 or IPv6); addresses of the other family never do. */
export function cidrContains(cidr: string, addr: string): boolean {
  const [net, bitsS] = cidr.split('/') as [string, string];
  const fam = isIP(net);
  if (fam === 0 || fam !== isIP(addr)) return false;
  const width = fam === 4 ? 32n : 128n;
  const bits = BigInt(Number(bitsS));
  const toInt = fam === 4 ? v4 : v6;
  const shift = width - bits;
  return toInt(net) >> shift === toInt(addr) >> shift;
}
