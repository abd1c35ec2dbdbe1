import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../lib/config/schema.ts';
import { EXIT } from '../../lib/core/errors.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import { recorder } from '../../lib/render/tty.ts';
import { volumeSteps } from '../../lib/steps/volume.ts';
import { ScriptedExecutor } from './fakes.ts';

const lsblk = JSON.stringify({
  blockdevices: [
    { name: '/dev/vda', path: '/dev/vda', type: 'disk', fstype: 'ext4', uuid: 'r00t', mountpoints: ['/'], ro: false, pttype: null },
    { name: '/dev/vdb', path: '/dev/vdb', type: 'disk', fstype: null, uuid: null, mountpoints: [null], ro: false, pttype: null },
  ],
});

/** A host with a root disk and an empty second disk; `blkid` answers as given. */
function host(device: string, blkid: { exitCode: number; stdout?: string }) {
  const exec = new ScriptedExecutor((cmd) => {
    const [bin] = cmd.argv;
    if (bin === 'lsblk') return { stdout: lsblk };
    if (bin === 'readlink') return { stdout: `${cmd.argv.at(-1)}\n` };
    if (bin === 'blkid') return { exitCode: blkid.exitCode, stdout: blkid.stdout ?? '' };
    if (bin === 'wipefs') return { stdout: '{"signatures": []}' };
    return {};
  });
  const rb = { name: 'v', title: 'v', summary: 'v', config: defineConfig({}, () => ({ device })), steps: () => volumeSteps<{ device: string }>({ prefix: 'volume', mountPoint: '/data', label: 'data', deviceVar: 'DATA_DEVICE', device: (c) => c.device }) };
  return { exec, rb, config: { device } };
}

describe('volume steps', () => {
  it('an explicit DATA_DEVICE naming the root disk is refused (exit 4) and nothing is formatted', async () => {
    const { exec, rb, config } = host('/dev/vda', { exitCode: 0, stdout: 'TYPE=ext4\nUUID=r00t\n' });
    const r = recorder();
    const res = await runSteps(rb, { exec, config, emit: r.emit, yes: true });
    expect(res.exitCode).toBe(EXIT.precondition);
    expect(JSON.stringify(r.events)).toContain('/dev/vda is the root disk');
    expect(exec.calls.filter((c) => c.write)).toEqual([]);
  });

  it('a blkid error is not an empty disk: refused, never formatted', async () => {
    const { exec, rb, config } = host('/dev/vdb', { exitCode: 8 });
    const res = await runSteps(rb, { exec, config, emit: () => {}, yes: true });
    expect(res.exitCode).toBe(EXIT.precondition);
    expect(exec.calls.some((c) => c.argv[0] === 'mkfs.ext4')).toBe(false);
  });

  it('an empty whole disk is formatted', async () => {
    const { exec, rb, config } = host('auto', { exitCode: 2 });
    await runSteps(rb, { exec, config, emit: () => {}, yes: true, only: ['volume.format'] });
    expect(exec.calls.find((c) => c.argv[0] === 'mkfs.ext4')?.argv).toEqual(['mkfs.ext4', '-q', '-L', 'data', '/dev/vdb']);
  });
});
