import { read, write } from '../core/cmd.ts';
import { readAsset } from '../core/assets.ts';
import { RunbookError } from '../core/errors.ts';
import { ensureFile, fileDrift, fileState } from '../exec/files.ts';
import type { Executor } from '../exec/types.ts';
import type { Step } from '../engine/types.ts';
import { cidrContains } from './cidr.ts';

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
  sshPeers: (port: number) => read(['ss', '-Htn', 'state', 'established', `( sport = :${port} )`]),
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
        const peers = (await exec.run(nftCmds.sshPeers(port))).stdout.split('\n').map(peerAddress).filter((p): p is string => Boolean(p));
        if (peers.length && !peers.some((p) => cidrs.some((c) => cidrContains(c, p)))) {
          throw new RunbookError('precondition', `the new rules admit SSH only from ${cidrs.join(', ')}, but this session comes from ${[...new Set(peers)].join(', ')}: applying them would lock you out`, {
            host: exec.host,
            hint: 'add your address to OPERATOR_CIDRS and re-run',
          });
        }
      }
      const old = await exec.run(nftCmds.table());
      await ensureFile(exec, { path: ROLLBACK, content: `${head(conf.content)}\n${old.exitCode === 0 ? old.stdout : ''}`, mode: '0600' });
      if (remote) {
        await exec.run(nftCmds.disarmDeadman());
        await exec.run(nftCmds.armDeadman());
        log(`dead-man timer armed: the old rules come back in ${DEADMAN_SECONDS} s unless a new SSH connection succeeds`);
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

/** The peer address in one line of `ss -Htn` output ("0 0 10.0.0.5:22 10.0.2.2:51234"). */
export function peerAddress(line: string): string | null {
  const cols = line.trim().split(/\s+/);
  const peer = cols[cols.length - 1];
  if (!peer || cols.length < 4) return null;
  const m = /^\[?([0-9a-fA-F:.]+?)\]?:\d+$/.exec(peer);
  if (!m?.[1]) return null;
  return m[1].replace(/^::ffff:/, '');
}
