import { describe, expect, it } from 'vitest';
import { withTarget } from '../../lib/cli/run.ts';

describe('a hint that names the next runbook gets this run\'s target', () => {
  it('adds --target after the runbook\'s name, once per line, and leaves the rest alone', () => {
    expect(withTarget('give the role a new strong password: runbook run central-db.rotate-password (same env file)', 'ssh://ops@db')).toBe('give the role a new strong password: runbook run central-db.rotate-password --target ssh://ops@db (same env file)');
    expect(withTarget('runbook run gratonite --from up.api', 'vm:try')).toBe('runbook run gratonite --target vm:try --from up.api');
    expect(withTarget('runbook run eventfold-db --target ssh://a@b --env x.env', 'ssh://ops@db')).toBe('runbook run eventfold-db --target ssh://a@b --env x.env');
    expect(withTarget('docker logs --tail 50 pgbouncer', 'local')).toBe('docker logs --tail 50 pgbouncer');
    expect(withTarget('runbook run central-db first, then runbook run central-db.onboard', 'local')).toBe('runbook run central-db --target local first, then runbook run central-db.onboard --target local');
  });
});
