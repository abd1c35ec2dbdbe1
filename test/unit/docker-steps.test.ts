// The shared Docker steps' boot ordering: a runbook whose containers keep data on a block volume
// gets a drop-in that holds Docker back until it is mounted; one without a volume does not.
import { describe, expect, it } from 'vitest';
import { exampleValues } from '../../lib/config/schema.ts';
import { MOUNTS_DROPIN } from '../../lib/steps/docker.ts';
import { dockerSteps } from '../../runbooks/central-db/docker.ts';
import { gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { hostSteps } from '../../runbooks/gratonite/host.ts';
import { ScriptedExecutor } from './fakes.ts';

describe('docker.after-volume', () => {
  it('holds Docker back at boot until the volume is mounted, only where the data lives on one', async () => {
    const step = hostSteps().find((s) => s.id === 'docker.after-volume');
    expect(step).toBeDefined();
    expect(dockerSteps().map((s) => s.id)).not.toContain('docker.after-volume');
    const exec = new ScriptedExecutor((c) => (c.argv[0] === 'stat' ? { exitCode: 1 } : {}));
    await step?.apply({ exec, config: gratoniteConfig.build(exampleValues(gratoniteConfig)), log: () => {} });
    const written = exec.calls.find((c) => c.argv.includes('/dev/stdin') && c.argv.some((a) => a.startsWith(MOUNTS_DROPIN)));
    expect(String(written?.stdin)).toContain('[Unit]\nRequiresMountsFor=/srv/gratonite\n');
    expect(exec.calls.map((c) => c.argv.join(' '))).toContain('systemctl daemon-reload');
  });
});
