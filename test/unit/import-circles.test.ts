// A runbook's index imports its steps; a step that imported the index back (for a type or the
// config) would make a circle whose load order decides what is undefined. None may.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../runbooks/', import.meta.url).pathname;
const modules = readdirSync(dir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(`${dir}${d.name}`).filter((f) => f.endsWith('.ts') && f !== 'index.ts').map((f) => `${d.name}/${f}`));

describe('runbook modules', () => {
  it('there are some', () => expect(modules.length).toBeGreaterThan(3));
  it.each(modules)('%s does not import its own index', (m) => {
    expect(readFileSync(`${dir}${m}`, 'utf8')).not.toMatch(/from '\.\/index\.ts'/);
  });
});
