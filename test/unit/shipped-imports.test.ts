// What ships (lib/, runbooks/, bin/: the CLI bundle and the host tools) never imports from test/:
// stand-ins and fixtures stay test code, and code they share with the CLI lives in lib/.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const shipped = ['lib', 'runbooks', 'bin'].flatMap((d) =>
  readdirSync(join(root, d), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .map((f) => join(d, f)),
);

describe('shipped code', () => {
  it('is found', () => expect(shipped.length).toBeGreaterThan(50));
  it('imports nothing from test/', () => {
    const offenders = shipped.filter((f) => /(?:from\s+|import\s*\(\s*)'(?:\.\.\/)+test\//.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
