// One backup at a time per host: a lock file in the state directory holding the owner's pid.
// A lock whose owner is gone (crash, kill -9) is taken over; a live owner means "another backup
// is running", a clear exit of its own (75, EX_TEMPFAIL) rather than a confusing failure later.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class BackupRunning extends Error {
  readonly exitCode = 75;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export function takeLock(stateDir: string, what = 'backup'): { release: () => void } {
  const path = join(stateDir, 'backup.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString(), what }));
      closeSync(fd);
      return { release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: { pid?: number; since?: string; what?: string } = {};
    try {
      owner = JSON.parse(readFileSync(path, 'utf8')) as typeof owner;
    } catch {
      // Written by an owner that died between creating and filling it: stale.
    }
    if (owner.pid && owner.pid !== process.pid && alive(owner.pid)) {
      throw new BackupRunning(`another ${owner.what ?? 'backup'} is running (pid ${owner.pid}, since ${owner.since}); this one did nothing. Wait for it: systemctl status eventfold-backup.service`);
    }
    rmSync(path, { force: true });
  }
  throw new BackupRunning(`could not take the backup lock ${path}: another backup keeps taking it`);
}
