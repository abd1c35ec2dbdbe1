import { read, write } from '../../lib/core/cmd.ts';
import { fileCmds } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { CheckResult, Step } from '../../lib/engine/types.ts';
import type { BaseHostConfig } from './config.ts';

const GROUPS = ['sudo', 'adm'];

async function state(exec: Executor, c: BaseHostConfig): Promise<{ drift: string[]; home: string }> {
  const pw = await exec.run(read({ okCodes: [0, 2] })`getent passwd ${c.adminUser}`);
  if (pw.exitCode !== 0) return { drift: [`user ${c.adminUser} does not exist`], home: `/home/${c.adminUser}` };
  const home = pw.stdout.trim().split(':')[5] ?? `/home/${c.adminUser}`;
  const drift: string[] = [];
  const groups = (await exec.run(read`id -nG ${c.adminUser}`)).stdout.trim().split(/\s+/);
  const missingGroups = GROUPS.filter((g) => !groups.includes(g));
  if (missingGroups.length) drift.push(`${c.adminUser} is not in ${missingGroups.join(', ')}`);
  const keys = await exec.run(fileCmds.cat(`${home}/.ssh/authorized_keys`));
  const have = new Set(keys.exitCode === 0 ? keys.stdout.split('\n').map(keyBody) : []);
  const missing = c.sshKeys.filter((k) => !have.has(keyBody(k)));
  if (missing.length) drift.push(`${missing.length} operator key(s) missing from ${home}/.ssh/authorized_keys`);
  return { drift, home };
}

/** "type base64" of a key line, ignoring options and comments, so cloud-init's and our formatting compare equal. */
export function keyBody(line: string): string {
  const m = /(ssh-\S+|ecdsa-\S+|sk-\S+)\s+([A-Za-z0-9+/=]+)/.exec(line);
  return m ? `${m[1]} ${m[2]}` : '';
}

/** Step: the admin user exists, is in sudo and adm, and has exactly the operators' keys (at least). */
export function adminUserStep(): Step<BaseHostConfig> {
  return {
    id: 'base.admin-user',
    title: 'Admin user with the operators\' SSH keys',
    doc: 'Creates the admin user (password locked) and writes its `authorized_keys`; keys already there are kept, so a key added by hand is not lost.',
    async check({ exec, config }): Promise<CheckResult> {
      const { drift } = await state(exec, config);
      return drift.length ? { done: false, reason: drift.join('; ') } : { done: true, reason: `${config.adminUser} exists with all ${config.sshKeys.length} key(s)` };
    },
    async apply({ exec, config: c }) {
      const pw = await exec.run(read({ okCodes: [0, 2] })`getent passwd ${c.adminUser}`);
      if (pw.exitCode !== 0) await exec.run(write(['useradd', '--create-home', '--shell', '/bin/bash', '--groups', GROUPS.join(','), c.adminUser]));
      else await exec.run(write(['usermod', '--append', '--groups', GROUPS.join(','), c.adminUser]));
      const { home } = await state(exec, c);
      const cur = await exec.run(fileCmds.cat(`${home}/.ssh/authorized_keys`));
      const lines = cur.exitCode === 0 ? cur.stdout.split('\n').filter(Boolean) : [];
      const have = new Set(lines.map(keyBody));
      const content = [...lines, ...c.sshKeys.filter((k) => !have.has(keyBody(k)))].join('\n') + '\n';
      await exec.run(write`install -d -m 0700 -o ${c.adminUser} -g ${c.adminUser} ${home}/.ssh`);
      await exec.run(fileCmds.install({ path: `${home}/.ssh/authorized_keys`, content, mode: '0600', owner: c.adminUser }));
      await exec.run(fileCmds.rename({ path: `${home}/.ssh/authorized_keys`, content, mode: '0600' }));
    },
  };
}
