// Each system declares its runbooks once, in runbooks/<system>/catalog.ts: what `runbook list`
// shows is what the runbook itself says, and every name loads the runbook of that name.
import { describe, expect, it } from 'vitest';
import { RUNBOOKS, SYSTEMS } from '../../lib/cli/registry.ts';

describe('the catalog', () => {
  it('names are unique across runbooks and systems', () => {
    const names = [...RUNBOOKS, ...SYSTEMS].map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });
  it.each(RUNBOOKS.map((e) => [e.name, e] as const))('%s loads the runbook of that name, with the catalog\'s title', async (_n, e) => {
    const rb = await e.load();
    expect([rb.name, rb.title]).toEqual([e.name, e.title]);
  });
  it.each(RUNBOOKS.map((e) => [e.name, e] as const))('`runbook show %s` renders from the examples alone (no file they name is read)', async (_n, e) => {
    const { renderMarkdown, exampleEnv } = await import('../../lib/cli/show.ts');
    const rb = await e.load();
    expect(renderMarkdown(rb)).toContain(`# ${rb.title}`);
    expect(exampleEnv(rb.config)).toMatch(/=/);
  });
  it.each(SYSTEMS.map((e) => [e.name, e] as const))('system %s loads, and each of its runbooks is in the catalog', async (_n, e) => {
    const sys = await e.load();
    expect([sys.name, sys.title]).toEqual([e.name, e.title]);
    for (const r of sys.roles) for (const n of r.runbooks) expect(RUNBOOKS.map((x) => x.name)).toContain(n);
  });
});
