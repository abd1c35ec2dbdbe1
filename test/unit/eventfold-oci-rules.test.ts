// firewall.oci-rules prints what `oci network security-list update` really needs: the list's
// OCID option, the warning that it replaces every ingress rule (so SSH is in the printed rules,
// read from the host's own firewall), and --force, without which the CLI asks.
import { describe, expect, it } from 'vitest';
import { exampleValues } from '../../lib/config/schema.ts';
import { eventfoldConfig } from '../../runbooks/eventfold-db/config.ts';
import { firewallSteps } from '../../runbooks/eventfold-db/operations.ts';
import { ScriptedExecutor } from './fakes.ts';

const config = eventfoldConfig.build({ ...exampleValues(eventfoldConfig), APP_CIDRS: '10.0.1.0/24', MONITORING_CIDRS: '10.0.2.0/24' });
const step = firewallSteps().find((s) => s.id === 'firewall.oci-rules');

async function printed(exec: ScriptedExecutor): Promise<string[]> {
  const lines: string[] = [];
  await step?.check({ exec, config, log: (m: string) => lines.push(m), dryRun: false } as never);
  return lines;
}

describe('firewall.oci-rules', () => {
  it('names --security-list-id, says the update replaces every ingress rule, and gives --force', async () => {
    const out = (await printed(new ScriptedExecutor(() => ({ exitCode: 1 })))).join('\n');
    expect(out).toMatch(/oci network security-list update --security-list-id \S+.* --ingress-security-rules file:\/\/rules\.json --force/);
    expect(out).toMatch(/REPLACES every ingress rule/);
    expect(out).toMatch(/without --force the OCI CLI asks for confirmation/);
    expect(out).toMatch(/ADD the SSH rule for your operator CIDRs yourself/);
    expect(step?.doc).toMatch(/--security-list-id/);
  });

  it('puts the SSH rule the host firewall admits first, then 2113 and 9090', async () => {
    const exec = new ScriptedExecutor((cmd) => {
      const a = cmd.argv.join(' ');
      if (a.endsWith('chain inet runbook input')) return { stdout: 'table inet runbook {\n\tchain input {\n\t\ttcp dport 2222 ip saddr @operator_v4 accept\n\t}\n}\n' };
      if (a.endsWith('set inet runbook operator_v4')) return { stdout: 'table inet runbook {\n\tset operator_v4 {\n\t\telements = { 198.51.100.0/24, 203.0.113.7 }\n\t}\n}\n' };
      return { stdout: 'table inet runbook {\n\tset operator_v6 {\n\t}\n}\n' };
    });
    const lines = await printed(exec);
    const rules = JSON.parse(lines.find((l) => l.startsWith('[')) ?? '[]') as { source: string; tcpOptions: { destinationPortRange: { min: number } } }[];
    expect(rules.map((r) => [r.source, r.tcpOptions.destinationPortRange.min])).toEqual([
      ['198.51.100.0/24', 2222],
      ['203.0.113.7/32', 2222],
      ['10.0.1.0/24', 2113],
      ['10.0.2.0/24', 9090],
    ]);
  });
});
