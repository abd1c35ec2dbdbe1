import { title } from './catalog.ts';
import { read, write } from '../../lib/core/cmd.ts';
import { readAsset, renderAsset, renderUserData } from '../../lib/core/assets.ts';
import type { Runbook, Step } from '../../lib/engine/types.ts';
import { filesStep, packagesStep } from '../../lib/steps/common.ts';
import { nftablesStep } from '../../lib/steps/nftables.ts';
import { swapStep } from './swap.ts';
import { adminUserStep } from './admin-user.ts';
import { type BaseHostConfig, baseHostConfig } from './config.ts';

export { type BaseHostConfig, baseHostConfig } from './config.ts';

/** Values the asset templates use; the cloud-init user-data renders the same assets with them. */
export function templateVars(c: BaseHostConfig): Record<string, string> {
  const v4 = c.operatorCidrs.filter((x) => !x.includes(':'));
  const v6 = c.operatorCidrs.filter((x) => x.includes(':'));
  const elements = (l: string[]) => (l.length ? `elements = { ${l.join(', ')} }` : '');
  return {
    ADMIN_USER: c.adminUser,
    ADMIN_SSH_KEYS_JSON: JSON.stringify(c.sshKeys),
    OPERATOR_V4_ELEMENTS: elements(v4),
    OPERATOR_V6_ELEMENTS: elements(v6),
    SSH_PORT: String(c.sshPort),
    SWAP_SIZE_BYTES: String(c.swapMiB * 1024 * 1024),
    JOURNAL_MAX_USE: c.journalMaxUse,
  };
}

const files = 'runbooks/base-host/files';

function steps(c: BaseHostConfig): Step<BaseHostConfig>[] {
  const vars = templateVars(c);
  return [
    packagesStep('base.packages', ['openssh-server', 'sudo', 'nftables', 'unattended-upgrades']),
    adminUserStep(),
    filesStep({
      id: 'base.sudoers',
      title: `Passwordless sudo for ${c.adminUser}`,
      doc: 'A sudoers drop-in, checked with `visudo -c` before it counts; a rejected file is removed again.',
      files: () => [{ path: '/etc/sudoers.d/90-runbook-admin', content: renderAsset(`${files}/sudoers-admin`, vars), mode: '0440' }],
      validate: () => [read`visudo -c -q -f /etc/sudoers.d/90-runbook-admin`],
    }),
    filesStep({
      id: 'base.sshd',
      title: 'SSH: keys only, no root login',
      doc: 'An sshd_config drop-in; `sshd -t` must accept the whole configuration before sshd reloads. The admin key is in place first (previous step), so this cannot lock the operator out.',
      files: () => [{ path: '/etc/ssh/sshd_config.d/10-runbook-hardening.conf', content: renderAsset(`${files}/sshd-hardening.conf`, vars), mode: '0644' }],
      validate: () => [read`sshd -t`],
      after: () => [write`systemctl reload ssh.service`],
    }),
    nftablesStep({
      id: 'base.nftables',
      title: 'Firewall: default-deny input, SSH from the operator CIDRs',
      destructive: 'replaces the host firewall; a wrong rule can cut off access (over SSH a dead-man timer restores the old rules)',
      doc: `Installs \`nftables/nftables.conf\` and \`/etc/nftables.d/10-base-host.nft\` (table \`inet runbook\` only; Docker's tables are never flushed). The whole candidate ruleset is checked with \`nft -c\` before any write and loaded in one transaction. Over SSH, a ruleset that would not admit this run's own connection (its address, from the session's \`$SSH_CONNECTION\`, and the port it came in on) is refused; \`OPERATOR_CIDRS\` covering every address needs \`SSH_FROM_ANYWHERE=yes\`; and a dead-man timer restores the old rules unless a fresh SSH connection gets in after the load.`,
      file: '10-base-host.nft',
      content: () => renderAsset('nftables/base-host.nft', vars),
      ssh: (cfg) => ({ port: cfg.sshPort, cidrs: cfg.operatorCidrs }),
    }),
    filesStep({
      id: 'base.journald',
      title: `journald: persistent, at most ${c.journalMaxUse}`,
      files: () => [{ path: '/etc/systemd/journald.conf.d/50-runbook.conf', content: renderAsset('systemd/journald-runbook.conf', vars), mode: '0644' }],
      after: () => [write`systemctl restart systemd-journald.service`],
    }),
    filesStep({
      id: 'base.unattended-upgrades',
      title: 'Unattended security upgrades',
      doc: 'Enables the daily apt timers; Debian\'s default `50unattended-upgrades` already limits upgrades to the security archive.',
      files: () => [{ path: '/etc/apt/apt.conf.d/20auto-upgrades', content: renderAsset(`${files}/20auto-upgrades`, vars), mode: '0644' }],
    }),
    swapStep(),
  ];
}

export const runbook: Runbook<BaseHostConfig> = {
  name: 'base-host',
  title: title('base-host'),
  summary: 'Admin user with SSH keys only and root login off; nftables default-deny input with SSH only from the operator CIDRs, loaded atomically without locking out the session; bounded journald; unattended security upgrades; a swap file. `cloud-init/base-host.yaml` reaches the same state on first boot.',
  deviations: [
    'The seeds each set up their host by hand (ufw, firewalld or iptables); this runbook is the shared, tested version: nftables with its own table, so Docker\'s rules are never flushed (the FamilyCart refresh script rewrote the whole ruleset and broke forwarding).',
  ],
  config: baseHostConfig,
  steps,
  cloudInit: { template: 'cloud-init/base-host.yaml', vars: templateVars },
  assets: (c) => [
    { kind: 'nftables', path: '/etc/nftables.d/10-base-host.nft', content: `${readAsset('nftables/nftables.conf').replace(/^include .*$/m, '')}\n${renderAsset('nftables/base-host.nft', templateVars(c))}` },
    { kind: 'cloud-init', path: 'user-data', content: renderUserData('cloud-init/base-host.yaml', templateVars(c)) },
  ],
};
