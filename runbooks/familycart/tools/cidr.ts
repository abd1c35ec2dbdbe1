// A strict CIDR parser for lists that decide who reaches a host: one spelling per family, no
// leading zeros, no embedded IPv4 in IPv6, no zone, host bits zero. Anything looser is refused,
// because a parser that guesses (e.g. "010.0.0.0" as octal, "1.2.3/24") admits addresses nobody meant.
export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address as an integer of 32 or 128 bits. */
  net: bigint;
  bits: number;
  /** The entry as nft and nginx get it (IPv6 lower-cased). */
  text: string;
}

const DEC = /^(0|[1-9]\d{0,2})$/;
const HEX = /^[0-9a-fA-F]{1,4}$/;

function v4(addr: string): bigint | string {
  const parts = addr.split('.');
  if (parts.length !== 4) return 'an IPv4 address has four dot-separated parts';
  let n = 0n;
  for (const p of parts) {
    if (!DEC.test(p) || Number(p) > 255) return `"${p}" is not an octet (0-255, no leading zeros)`;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function v6(addr: string): bigint | string {
  if (!/^[0-9a-fA-F:]+$/.test(addr)) return 'an IPv6 address holds only hex digits and colons here (no zone, no embedded IPv4)';
  const halves = addr.split('::');
  if (halves.length > 2) return '"::" may appear once';
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  const all = [...left, ...right];
  if (all.some((g) => !HEX.test(g))) return 'each IPv6 group is 1 to 4 hex digits';
  if (halves.length === 1 && all.length !== 8) return 'an IPv6 address without "::" has eight groups';
  if (halves.length === 2 && all.length > 7) return '"::" must stand for at least one group';
  const full = halves.length === 2 ? [...left, ...Array<string>(8 - all.length).fill('0'), ...right] : all;
  return full.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses "addr/bits" of the given family, or returns why it is not one. */
export function parseCidr(entry: unknown, family: Family): Cidr | string {
  if (typeof entry !== 'string') return `${JSON.stringify(entry)} is not a string`;
  const m = /^([^/\s]+)\/(0|[1-9]\d{0,2})$/.exec(entry);
  if (!m) return `"${entry}" is not ADDRESS/PREFIX`;
  const width = family === 4 ? 32 : 128;
  const bits = Number(m[2]);
  if (bits > width) return `"${entry}": prefix /${bits} is longer than ${width} bits`;
  const addr = m[1] as string;
  if (family === 4 && addr.includes(':')) return `"${entry}" is IPv6 in the IPv4 list`;
  if (family === 6 && !addr.includes(':')) return `"${entry}" is IPv4 in the IPv6 list`;
  const net = family === 4 ? v4(addr) : v6(addr);
  if (typeof net === 'string') return `"${entry}": ${net}`;
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  if ((net & hostMask) !== 0n) return `"${entry}" has host bits set (not a network address)`;
  return { family, net, bits, text: family === 6 ? entry.toLowerCase() : entry };
}

/** Whether network a contains network b (same family). */
export function contains(a: Cidr, b: Cidr): boolean {
  const width = a.family === 4 ? 32 : 128;
  if (a.family !== b.family || a.bits > b.bits) return false;
  const shift = BigInt(width - a.bits);
  return a.net >> shift === b.net >> shift;
}

/** A share of the family's whole address space, for messages ("1/8192 of all IPv4"). */
export function share(c: Cidr): string {
  return `1/${2 ** c.bits} of all IPv${c.family}`;
}
