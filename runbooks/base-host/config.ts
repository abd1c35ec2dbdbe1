// The base host's configuration, in a module of its own: the steps import its type, the index
// imports the steps, and neither imports the other's module in a circle.
import { checks, defineConfig, splitList, str } from '../../lib/config/schema.ts';
import { coveredFamilies } from '../../lib/core/cidr.ts';
import { RunbookError } from '../../lib/core/errors.ts';

export interface BaseHostConfig {
  adminUser: string;
  sshKeys: string[];
  operatorCidrs: string[];
  sshPort: number;
  swapMiB: number;
  journalMaxUse: string;
}

export const baseHostConfig = defineConfig<BaseHostConfig>(
  {
    ADMIN_USER: { description: 'the admin account that logs in with SSH keys and runs sudo', example: 'admin', default: 'admin', check: checks.name },
    ADMIN_SSH_KEYS: { description: 'OpenSSH public keys of the operators, separated by ";"', example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample ops@laptop', check: checks.sshKeys },
    OPERATOR_CIDRS: { description: 'addresses allowed to reach SSH, space or comma separated', example: '198.51.100.0/24', check: checks.cidrList },
    SSH_FROM_ANYWHERE: { description: 'set to "yes" to admit SSH from every address: without it, OPERATOR_CIDRS that cover all of IPv4 or IPv6 (0.0.0.0/0, ::/0, or the same space in pieces) are refused', example: 'no', default: 'no', check: checks.oneOf('yes', 'no') },
    SSH_PORT: { description: 'the port sshd listens on', example: '22', default: '22', check: checks.int(1, 65535) },
    SWAP_SIZE_MB: { description: 'size of /swapfile in MiB (0: no swap file)', example: '1024', default: '1024', check: checks.int(0, 65536) },
    JOURNAL_MAX_USE: { description: 'journald SystemMaxUse', example: '500M', default: '500M', check: (v) => (/^\d+[KMG]$/.test(v) ? null : 'must be a size like 500M or 2G') },
  },
  (v) => ({
    adminUser: str(v, 'ADMIN_USER'),
    operatorCidrs: operatorCidrs(splitList(str(v, 'OPERATOR_CIDRS')), str(v, 'SSH_FROM_ANYWHERE') === 'yes'),
    sshKeys: splitList(str(v, 'ADMIN_SSH_KEYS'), /\s*;\s*/),
    sshPort: Number(str(v, 'SSH_PORT')),
    swapMiB: Number(str(v, 'SWAP_SIZE_MB')),
    journalMaxUse: str(v, 'JOURNAL_MAX_USE'),
  }),
);

/** The operator CIDRs; SSH open to the whole internet only when SSH_FROM_ANYWHERE=yes says so. */
function operatorCidrs(cidrs: string[], anywhere: boolean): string[] {
  const all = coveredFamilies(cidrs);
  if (all.length && !anywhere) {
    throw new RunbookError('config', `OPERATOR_CIDRS admits SSH from every IPv${all.join(' and IPv')} address (${cidrs.join(', ')})`, { hint: 'list the operators\' own networks, or set SSH_FROM_ANYWHERE=yes if that is really meant' });
  }
  return cidrs;
}
