import { read, write } from '../core/cmd.ts';
import { readAsset } from '../core/assets.ts';
import { RunbookError } from '../core/errors.ts';
import { ensureFile, fileDrift, fileState } from '../exec/files.ts';
import type { Executor, SshConnection } from '../exec/types.ts';
import type { Step } from '../engine/types.ts';
import { cidrContains } from '../core/cidr.ts';

const CONF = '/etc/nftables.conf';
const DIR = '/etc/nftables.d';
const ROLLBACK = '/var/lib/runbook/nftables.rollback';
const DEADMAN = 'runbook-nft-rollback';
/** If the new rules cut the operator off, the host puts the old ones back by itself after this. */
export const DEADMAN_SECONDS = 120;

export const nftCmds = {
  list: () => read(['find', DIR, '-maxdepth', '1', '-name', '*.nft', '-printf', '%f\\n'], { okCodes: [0, 1] }),
  cat: (p: string) => read(['cat', '--', p], { okCodes: [0, 1] }),
  checkStdin: (text: string) => read(['nft', '-c', '-f', '/dev/stdin'], { stdin: text, summary: 'nft -c (check the candidate ruleset)' }),
  table: () => read(['nft', 'list', 'table', 'inet', 'runbook'], { okCodes: [0, 1] }),
  load: () => write(['nft', '-f', CONF]),
  loadRollback: () => write(['nft', '-f', ROLLBACK]),
  armDeadman: () => write(['systemd-run', `--unit=${DEADMAN}`, `--on-active=${DEADMAN_SECONDS}`, '--timer-property=AccuracySec=1s', 'nft', '-f', ROLLBACK]),
  disarmDeadman: () => write(['systemctl', 'stop', `${DEADMAN}.timer`], { okCodes: [0, 5] }),
  enabled: () => read(['systemctl', 'is-enabled', 'nftables.service'], { okCodes: [0, 1] }),
  enable: () => write(['systemctl', 'enable', 'nftables.service']),
};

/** The head of nftables.conf without its include: the candidate is the head plus every file inlined. */
const head = (conf: string) => conf.split('\n').filter((l) => !l.startsWith('include ')).join('\n');

async function candidate(exec: Executor, conf: string, name: string, content: string): Promise<string> {
  const names = new Set((await exec.run(nftCmds.list())).stdout.split('\n').filter(Boolean));
  names.add(name);
  const parts = [head(conf)];
  for (const n of [...names].sort()) parts.push(n === name ? content : (await exec.run(nftCmds.cat(`${DIR}/${n}`))).stdout);
  return parts.join('\n');
}

/**
 * Step: one ruleset file of the runbooks' own table is installed and loaded. The candidate (all
 * files together) is checked with `nft -c` before anything is written; the load is one atomic
 * transaction; over SSH a dead-man timer restores the old table unless a fresh SSH connection
 * still gets in, and a ruleset that would not admit the operator's own address is refused.
 */
export function nftablesStep<C>(o: { id: string; title: string; doc: string; destructive?: string; file: string; content: (c: C) => string; ssh?: (c: C) => { port: number; cidrs: string[] } }): Step<C> {
  const specs = (c: C) => [
    { path: CONF, content: readAsset('nftables/nftables.conf'), mode: '0755' },
    { path: `${DIR}/${o.file}`, content: o.content(c), mode: '0644' },
  ];
  return {
    id: o.id,
    title: o.title,
    doc: o.doc,
    destructive: o.destructive,
    async check({ exec, config }) {
      for (const f of specs(config)) {
        const d = fileDrift(f, await fileState(exec, f.path));
        if (d) return { done: false, reason: d };
      }
      if ((await exec.run(nftCmds.table())).exitCode !== 0) return { done: false, reason: 'table inet runbook is not loaded' };
      if ((await exec.run(nftCmds.enabled())).stdout.trim() !== 'enabled') return { done: false, reason: 'nftables.service is not enabled at boot' };
      return { done: true, reason: 'ruleset installed, loaded and enabled at boot' };
    },
    async apply({ exec, config, log }) {
      const [conf, file] = specs(config) as [{ path: string; content: string; mode: string }, { path: string; content: string; mode: string }];
      const text = await candidate(exec, conf.content, o.file, file.content);
      const checked = await exec.probe(nftCmds.checkStdin(text));
      if (checked.exitCode !== 0) {
        throw new RunbookError('stepFailed', `nft rejected the ruleset; nothing was changed: ${checked.stderr.trim().split('\n').slice(0, 4).join(' ')}`, { host: exec.host, hint: `fix ${o.file} (or the variables it uses) and re-run` });
      }
      const remote = exec.host !== 'local';
      if (remote && o.ssh) {
        const { port, cidrs } = o.ssh(config);
        const refused = lockout(await exec.connection?.() ?? null, port, cidrs);
        if (refused) throw new RunbookError('precondition', `${refused}: applying them would lock you out`, { host: exec.host, hint: 'add your address to OPERATOR_CIDRS (or connect on SSH_PORT) and re-run' });
      }
      const old = await exec.run(nftCmds.table());
      await ensureFile(exec, { path: ROLLBACK, content: `${head(conf.content)}\n${old.exitCode === 0 ? old.stdout : ''}`, mode: '0600' });
      if (remote) {
        await exec.run(nftCmds.disarmDeadman());
        await exec.run(nftCmds.armDeadman());
        // Said only when it happened: a dry run prints the systemd-run it would start instead.
        if (!exec.dryRun) log(`dead-man timer armed: the old rules come back in ${DEADMAN_SECONDS} s unless a new SSH connection succeeds`);
      }
      await ensureFile(exec, conf);
      await ensureFile(exec, file);
      await exec.run(nftCmds.load());
      if (remote && exec.freshConnection && !exec.dryRun) {
        const ok = await exec.freshConnection();
        if (!ok) {
          await exec.run(nftCmds.loadRollback());
          await exec.run(nftCmds.disarmDeadman());
          throw new RunbookError('stepFailed', 'a new SSH connection failed after loading the rules; the previous rules were put back', { host: exec.host, hint: 'check OPERATOR_CIDRS and SSH_PORT, then re-run' });
        }
      }
      if (remote) await exec.run(nftCmds.disarmDeadman());
      await exec.run(nftCmds.enable());
    },
  };
}

/**
 * Why the new rules (SSH on `port` from `cidrs` only) would not admit a fresh connection made the
 * way this run is connected, or null when they would. Unknown connection: refused, not assumed.
 */
export function lockout(conn: SshConnection | null, port: number, cidrs: string[]): string | null {
  if (!conn) return 'cannot tell this run\'s own SSH connection ($SSH_CONNECTION is empty on the host)';
  if (conn.serverPort !== port) return `this run is connected to port ${conn.serverPort}, but the new rules admit SSH only on port ${port}`;
  if (!cidrs.some((c) => cidrContains(c, conn.clientAddr))) return `the new rules admit SSH only from ${cidrs.join(', ')}, but this run connects from ${conn.clientAddr}`;
  return null;
}
