// The strict CIDR parser and the answer checks of cf-allowlist, on the recorded answer and on
// hostile ones. The tool end to end (HTTP, nft) is in cf-allowlist.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Refusal, checkChange, validateAnswer, validateBody } from '../../runbooks/familycart/tools/answer.ts';
import { parseCidr } from '../../runbooks/familycart/tools/cidr.ts';

const recorded = readFileSync(new URL('../../runbooks/familycart/files/cloudflare-ips.json', import.meta.url), 'utf8');
const withLists = (v4: unknown[], v6: unknown[]) => ({ success: true, errors: [], messages: [], result: { ipv4_cidrs: v4, ipv6_cidrs: v6 } });
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Refusal);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('parseCidr (strict)', () => {
  it.each([
    ['173.245.48.0/20', 4],
    ['0.0.0.0/0', 4],
    ['2400:cb00::/32', 6],
    ['2A06:98C0::/29', 6],
    ['::/0', 6],
    ['2001:db8:0:0:0:0:0:0/64', 6],
  ] as const)('accepts %s', (s, f) => {
    expect(typeof parseCidr(s, f)).toBe('object');
  });

  it.each([
    ['10.0.0.1/8', 4, /host bits/],
    ['010.0.0.0/8', 4, /octet/],
    ['1.2.3/24', 4, /four/],
    ['256.0.0.0/8', 4, /octet/],
    ['1.2.3.0/33', 4, /longer than 32/],
    ['1.2.3.0/024', 4, /ADDRESS\/PREFIX/],
    ['1.2.3.0', 4, /ADDRESS\/PREFIX/],
    [' 1.2.3.0/24', 4, /ADDRESS\/PREFIX/],
    ['2400:cb00::/32', 4, /IPv6 in the IPv4 list/],
    ['104.16.0.0/13', 6, /IPv4 in the IPv6 list/],
    ['2400:cb00::1/32', 6, /host bits/],
    ['2400::cb00::/32', 6, /once/],
    ['::ffff:1.2.3.0/120', 6, /embedded IPv4/],
    ['fe80::%eth0/64', 6, /zone/],
    ['2400:cb00:0:0:0:0:0/32', 6, /eight groups/],
    ['12345::/16', 6, /1 to 4 hex/],
  ] as const)('refuses %s', (s, f, why) => {
    const r = parseCidr(s, f);
    expect(typeof r).toBe('string');
    expect(r).toMatch(why);
  });

  it('refuses what is not a string', () => {
    expect(parseCidr(42, 4)).toMatch(/not a string/);
  });
});

describe('validateAnswer', () => {
  it('takes the recorded answer as it is: 15 IPv4 and 7 IPv6 ranges', () => {
    const l = validateAnswer({ status: 200, body: recorded });
    expect(l.v4).toHaveLength(15);
    expect(l.v6).toHaveLength(7);
    expect(l.v4).toContain('104.24.0.0/14');
    expect(l.etag).toBe('38f79d050aa027e3be3865e495dcc9bc');
  });

  it.each([
    ['a rate limit (429, code 971)', { status: 429, body: '{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}' }, /HTTP 429 .*971/],
    ['success:false with HTTP 200', { status: 200, body: '{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}' }, /success is false .*10000/],
    ['a redirect', { status: 301, location: 'https://www.cloudflare.com/ips/', body: '' }, /HTTP 301 to https:\/\/www.cloudflare.com\/ips\/.*not followed/],
    ['an HTML page', { status: 200, body: '<html><body>Attention required</body></html>' }, /not JSON/],
    ['a truncated body', { status: 200, body: recorded.slice(0, 200) }, /not JSON/],
    ['an empty body', { status: 200, body: '' }, /not JSON \(0 bytes\)/],
    ['a 500 with HTML', { status: 500, body: '<html>' }, /HTTP 500/],
  ])('refuses %s', (_n, a, why) => {
    expect(refusal(() => validateAnswer(a))).toMatch(why);
  });

  it.each([
    ['an empty IPv4 list', withLists([], ['2400:cb00::/32']), /ipv4_cidrs is empty/],
    ['an empty IPv6 list', withLists(['104.16.0.0/13'], []), /ipv6_cidrs is empty/],
    ['a missing list', { success: true, result: { ipv4_cidrs: ['104.16.0.0/13'] } }, /ipv6_cidrs is not a list/],
    ['0.0.0.0/0', withLists(['104.16.0.0/13', '0.0.0.0/0'], ['2400:cb00::/32']), /0\.0\.0\.0\/0.*1\/1 of all IPv4/],
    ['::/0', withLists(['104.16.0.0/13'], ['::/0']), /::\/0.*IPv6/],
    ['a /8', withLists(['10.0.0.0/8'], ['2400:cb00::/32']), /shorter than \/12/],
    ['a bad CIDR', withLists(['104.16.0.1/13'], ['2400:cb00::/32']), /host bits/],
    ['IPv6 in the IPv4 list', withLists(['2400:cb00::/32'], ['2400:cb00::/32']), /IPv6 in the IPv4 list/],
    ['a number in the list', withLists([104], ['2400:cb00::/32']), /not a string/],
    ['result null', { success: true, result: null }, /result is missing/],
    ['an array', [], /not a JSON object/],
  ])('refuses %s', (_n, body, why) => {
    expect(refusal(() => validateBody(body))).toMatch(why);
  });

  it('drops a range another one already covers (an interval set refuses overlaps)', () => {
    const l = validateBody(withLists(['104.16.0.0/13', '104.17.0.0/16', '104.16.0.0/13'], ['2400:cb00::/32']));
    expect(l.v4).toEqual(['104.16.0.0/13']);
  });
});

describe('checkChange', () => {
  const prev = validateAnswer({ status: 200, body: recorded });
  it('accepts the 2021 change (one /12 became a /13 and a /14)', () => {
    const before = { ...prev, v4: [...prev.v4.filter((c) => !c.startsWith('104.')), '104.16.0.0/12'] };
    expect(() => checkChange(before, prev)).not.toThrow();
  });
  it('refuses a list that swaps most ranges at once, per family, and says how to accept it', () => {
    const next = { ...prev, v4: ['1.0.0.0/16', '2.0.0.0/16', ...prev.v4.slice(9)] };
    expect(refusal(() => checkChange(prev, next))).toMatch(/IPv4 list changes by 2 added and 9 removed of 15 \(at most 7 .*--max-change 1/);
    expect(() => checkChange(prev, next, { minPrefix: { 4: 12, 6: 24 }, maxChange: 1 })).not.toThrow();
  });
});
