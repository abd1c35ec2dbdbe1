// A dry run shows the whole plan: what a files step runs after writing and which service that
// restarts, file diffs with secret values masked (the host's too), and nothing that did not happen.
import { describe, expect, it } from 'vitest';
import { write } from '../../lib/core/cmd.ts';
import { defineConfig } from '../../lib/config/schema.ts';
import { Secret } from '../../lib/core/secret.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { EngineEvent, Step } from '../../lib/engine/types.ts';
import { sha256 } from '../../lib/exec/files.ts';
import type { SshConnection } from '../../lib/exec/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { filesStep } from '../../lib/steps/common.ts';
import { nftablesStep } from '../../lib/steps/nftables.ts';
import { ScriptedExecutor } from './fakes.ts';

const CANARY = 'CANARY-host-secret-0123456789abcdef0123456789';

/** A remote-looking host with files and one running service. */
class Host extends ScriptedExecutor {
  override readonly host: string = 'admin@db1:22';
  constructor(files: Record<string, string>) {
    super((cmd) => {
      const [c, ...a] = cmd.argv;
      const path = a.at(-1) ?? '';
      if (c === 'stat') return path in files ? { stdout: '640 root eventfold 1\n' } : { exitCode: 1 };
      if (c === 'sha256sum') return path in files ? { stdout: `${sha256(files[path] ?? '')}  ${path}\n` } : { exitCode: 1 };
      if (c === 'cat') return path in files ? { stdout: files[path] } : { exitCode: 1 };
      if (c === 'systemctl' && a[0] === 'is-active') return { stdout: 'active\n' };
      if (c === 'nft' || c === 'find') return { exitCode: c === 'nft' && a[0] === 'list' ? 1 : 0 };
      return {};
    });
  }
  async connection(): Promise<SshConnection> {
    return { clientAddr: '198.51.100.7', clientPort: 50000, serverAddr: '10.0.0.5', serverPort: 22 };
  }
}

type Cfg = { jwt?: Secret; off: boolean };
const envStep = filesStep<Cfg>({
  id: 'app.config',
  title: 'server env',
  files: (c) => [{ path: '/etc/app/app.env', content: `LISTEN=[::]:2113\n${c.jwt ? `JWT_SECRET=${c.jwt.reveal()}` : '# no auth'}\n`, mode: '0640', owner: 'root', group: 'eventfold', secret: true }],
  after: () => [write(['systemctl', 'try-restart', 'app.service'])],
  keepSecrets: { path: '/etc/app/app.env', keys: ['JWT_SECRET'], dropAllowed: (c) => c.off, hint: 'set JWT_SECRET, or AUTH_OFF=yes' },
});

async function dryRun(steps: Step<Cfg>[], config: Cfg, files: Record<string, string>) {
  const r = recorder();
  const rb = { name: 't', title: 't', summary: 't', config: defineConfig({}, () => config), steps: () => steps };
  const res = await runSteps(rb, { exec: new Host(files), config, emit: r.emit, dryRun: true });
  return { res, events: r.events, text: JSON.stringify(r.events) };
}
const of = <T extends EngineEvent['type']>(events: EngineEvent[], t: T) => events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === t);

describe('dry-run plan', () => {
  it('shows the restart a files step runs after writing, and says the running service restarts', async () => {
    const { res, events } = await dryRun([envStep], { jwt: new Secret('JWT_SECRET', 'n'.repeat(40)), off: false }, { '/etc/app/app.env': 'LISTEN=old\n' });
    expect(res.exitCode).toBe(0);
    expect(of(events, 'write-planned').map((e) => e.command)).toContain('systemctl try-restart app.service');
    expect(of(events, 'log').map((e) => e.message)).toContain('app.service is running: this change restarts it');
  });

  it('masks every value of a file that can hold a secret, the host\'s copy included', async () => {
    const { text, events } = await dryRun([envStep], { jwt: new Secret('JWT_SECRET', 'x'.repeat(40)), off: false }, { '/etc/app/app.env': `LISTEN=[::]:2113\nJWT_SECRET=${CANARY}\n` });
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('x'.repeat(40));
    const diff = of(events, 'write-planned').find((e) => e.detail)?.detail ?? '';
    expect(diff).toMatch(/-JWT_SECRET=<hidden [0-9a-f]{8}>/);
    expect(diff).toMatch(/\+JWT_SECRET=<hidden [0-9a-f]{8}>/);
  });

  it('refuses to drop a secret the host has unless the operator chose it', async () => {
    const host = { '/etc/app/app.env': `LISTEN=[::]:2113\nJWT_SECRET=${CANARY}\n` };
    const refused = await dryRun([envStep], { off: false }, host);
    expect(refused.res.exitCode).toBe(4);
    expect(refused.text).toContain("/etc/app/app.env on the host sets JWT_SECRET, which this run's config does not");
    expect(refused.text).not.toContain(CANARY);
    const chosen = await dryRun([envStep], { off: true }, host);
    expect(chosen.res.exitCode).toBe(0);
    expect(chosen.text).not.toContain(CANARY);
  });

  it('does not claim the dead-man timer was armed; the systemd-run it would start is in the plan', async () => {
    const nft = nftablesStep<Cfg>({ id: 'fw', title: 'fw', doc: '', file: '10-x.nft', content: () => 'table inet runbook {}\n', ssh: () => ({ port: 22, cidrs: ['198.51.100.0/24'] }) });
    const { res, events } = await dryRun([nft], { off: false }, {});
    expect(res.exitCode).toBe(0);
    expect(of(events, 'log').map((e) => e.message).join('\n')).not.toMatch(/armed/);
    expect(of(events, 'write-planned').map((e) => e.command).join('\n')).toMatch(/systemd-run --unit=runbook-nft-rollback/);
  });
});
