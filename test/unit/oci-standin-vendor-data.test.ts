import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ociStandinVendorData } from '../../lib/vm/oci-standin-vendor-data.ts';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');

describe('OCI stand-in vendor-data', () => {
  it('is the same text on every call, so a kept VM booted with it is reused (--target vm)', async () => {
    const a = ociStandinVendorData(ROOT);
    await new Promise((r) => setTimeout(r, 1_100)); // file times differ by now
    expect(ociStandinVendorData(ROOT)).toBe(a);
  });

  it('unpacks to the stand-in and its wrapper', () => {
    const script = (parse(ociStandinVendorData(ROOT).replace(/^#cloud-config\n/, '')) as { bootcmd: string[] }).bootcmd[0] ?? '';
    const b64 = /<<'EOF'\n([\s\S]*?)\nEOF/.exec(script)?.[1] ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'vd-'));
    try {
      writeFileSync(join(dir, 'a.tgz'), Buffer.from(b64, 'base64'));
      execFileSync('tar', ['-xzf', join(dir, 'a.tgz'), '-C', dir]);
      expect(readFileSync(join(dir, 'usr/local/bin/oci'), 'utf8')).toContain('exec node /usr/local/lib/oci-standin/oci.mjs');
      expect(readFileSync(join(dir, 'usr/local/lib/oci-standin/oci.mjs')).equals(readFileSync(join(ROOT, 'dist/standins/oci.mjs')))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
