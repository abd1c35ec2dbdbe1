// The container image archive writer and its cache, without a VM: the tar is what GNU tar reads,
// the same inputs give the same bytes and image IDs, the manifest has docker load's shape, and a
// corrupt or partial cache entry is rebuilt, never used.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveEntries, type BuiltImage, imageConfig, manifestJson, sha256 } from '../containers/archive.ts';
import { folderLayer } from '../containers/build.ts';
import { cachedEntry } from '../containers/cache.ts';
import { mirrorIn } from '../containers/debian-mirror.ts';
import { IMAGES } from '../containers/images.ts';
import { tarBuffer, tarChunks, tarSize } from '../containers/tar.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'container-archive-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

describe('tar writer', () => {
  it('writes what GNU tar lists and extracts, owner root, modes kept, long paths in the prefix', async () => {
    const long = `${'d'.repeat(90)}/${'e'.repeat(60)}`;
    const tar = await tarBuffer([
      { path: 'usr', type: 'dir', mode: 0o755 },
      { path: 'usr/run.sh', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
      { path: `${long}/file.txt`, type: 'file', mode: 0o644, data: Buffer.alloc(1000, 'x') },
    ]);
    expect(tar.length % 512).toBe(0);
    const file = join(tmp, 't.tar');
    writeFileSync(file, tar);
    const list = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(list).toMatch(/^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 usr\/$/m);
    expect(list).toMatch(/^-rwxr-xr-x 0\/0 +18 .* usr\/run\.sh$/m);
    expect(list).toContain(`${long}/file.txt`);
    const out = join(tmp, 'x');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readFileSync(join(out, long, 'file.txt'), 'utf8')).toBe('x'.repeat(1000));
  });

  it('streams a file given by path and predicts the archive size', async () => {
    const big = join(tmp, 'big.bin');
    writeFileSync(big, Buffer.alloc(300_001, 7));
    const entries = [{ path: 'big.bin', type: 'file' as const, mode: 0o644, data: { file: big } }];
    const tar = await collect(tarChunks(entries));
    expect(tar.length).toBe(tarSize(entries));
    expect(execFileSync('tar', ['-xOf', '-', 'big.bin'], { input: tar }).equals(readFileSync(big))).toBe(true);
  });

  it('refuses a path ustar cannot hold', async () => {
    await expect(tarBuffer([{ path: 'a'.repeat(300), type: 'file', mode: 0o644, data: Buffer.from('') }])).rejects.toThrow(/too long/);
  });
});

describe('image archive', () => {
  async function build(content: string): Promise<{ images: BuiltImage[]; blobs: Map<string, string>; archive: Buffer }> {
    const dir = mkdtempSync(join(tmp, 'img-'));
    const base = join(dir, 'base.tar');
    writeFileSync(base, await tarBuffer([{ path: 'etc/os-release', type: 'file', mode: 0o644, data: Buffer.from('ID=debian\n') }]));
    const layerDir = join(dir, 'layer');
    mkdirSync(join(layerDir, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(layerDir, 'usr/local/bin/entry.sh'), content);
    chmodSync(join(layerDir, 'usr/local/bin/entry.sh'), 0o755);
    const layer = await tarBuffer(folderLayer(layerDir));
    const blobs = new Map<string, string>();
    const put = (b: Buffer) => {
      const p = join(dir, sha256(b));
      writeFileSync(p, b);
      blobs.set(`sha256:${sha256(b)}`, p);
      return `sha256:${sha256(b)}`;
    };
    const diffIds = [put(readFileSync(base)), put(layer)];
    const config = imageConfig(
      { entrypoint: ['entry.sh'], cmd: ['serve'], user: 'app', env: ['A=1'], exposedPorts: ['5432/tcp'], workingDir: '/data', healthcheck: { test: ['CMD', 'true'], intervalS: 2, retries: 3 } },
      diffIds,
      '2025-01-01T00:00:00.000Z',
      ['base', 'layer'],
    );
    const images: BuiltImage[] = [{ ref: 'example/app:1', tags: ['example/app:1', 'example/app:latest'], id: put(config), diffIds }];
    const archive = await collect(tarChunks(archiveEntries(images, (d) => blobs.get(d) as string)));
    return { images, blobs, archive };
  }

  it('the same inputs give the same image ID and the same archive bytes', async () => {
    const a = await build('#!/bin/sh\nexec "$@"\n');
    const b = await build('#!/bin/sh\nexec "$@"\n');
    expect(a.images[0]?.id).toBe(b.images[0]?.id);
    expect(sha256(a.archive)).toBe(sha256(b.archive));
    const c = await build('#!/bin/sh\nexec env "$@"\n');
    expect(c.images[0]?.id).not.toBe(a.images[0]?.id);
    expect(c.images[0]?.diffIds[0]).toBe(a.images[0]?.diffIds[0]);
  });

  it('config: arm64 linux, diff_ids are the layers sha256, the run settings in Docker spelling', async () => {
    const { images, blobs } = await build('#!/bin/sh\n');
    const img = images[0] as BuiltImage;
    const cfg = JSON.parse(readFileSync(blobs.get(img.id) as string, 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: img.diffIds } });
    expect(cfg.config).toEqual({
      User: 'app',
      ExposedPorts: { '5432/tcp': {} },
      Env: ['A=1'],
      Entrypoint: ['entry.sh'],
      Cmd: ['serve'],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 2e9, Retries: 3 },
      WorkingDir: '/data',
    });
    for (const d of img.diffIds) expect(`sha256:${sha256(readFileSync(blobs.get(d) as string))}`).toBe(d);
    expect(cfg.history).toHaveLength(img.diffIds.length);
  });

  it('manifest.json and blobs: what docker load reads, each layer once', async () => {
    const { images, archive } = await build('#!/bin/sh\n');
    const img = images[0] as BuiltImage;
    const twice = [img, { ...img, ref: 'example/other:1', tags: ['example/other:1'] }];
    expect(JSON.parse(manifestJson(images).toString())).toEqual([
      { Config: `blobs/sha256/${img.id.slice(7)}`, RepoTags: ['example/app:1', 'example/app:latest'], Layers: img.diffIds.map((d) => `blobs/sha256/${d.slice(7)}`) },
    ]);
    const names = archiveEntries(twice, () => '/dev/null').map((e) => e.path);
    expect(names.filter((n) => n === `blobs/sha256/${img.diffIds[0]?.slice(7)}`)).toHaveLength(1);
    const list = execFileSync('tar', ['-tf', '-'], { input: archive, encoding: 'utf8' }).trim().split('\n');
    expect(list).toEqual(['blobs/', 'blobs/sha256/', `blobs/sha256/${img.id.slice(7)}`, ...img.diffIds.map((d) => `blobs/sha256/${d.slice(7)}`), 'manifest.json']);
  });

  it('every test image has a tag, a layer folder and the built files it carries', () => {
    for (const spec of IMAGES) {
      expect(spec.tags.length).toBeGreaterThan(0);
      expect(existsSync(join(import.meta.dirname, '../containers/layers', spec.layer ?? spec.name))).toBe(true);
      for (const f of spec.files ?? []) expect(existsSync(join(import.meta.dirname, '../..', f.from)), f.from).toBe(true);
    }
  });
});

describe('container cache entries', () => {
  const saved = process.env.RUNBOOK_CACHE_DIR;
  beforeAll(() => {
    process.env.RUNBOOK_CACHE_DIR = join(tmp, 'cache');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.RUNBOOK_CACHE_DIR;
    else process.env.RUNBOOK_CACHE_DIR = saved;
  });
  let builds = 0;
  const entry = () =>
    cachedEntry('unit-test', async (work) => {
      builds++;
      writeFileSync(join(work, 'layer.tar'), `layer ${builds}\n`);
    });

  it('an intact entry is reused without building', async () => {
    const dir = await entry();
    const dir2 = await entry();
    expect(dir2).toBe(dir);
    expect(builds).toBe(1);
    expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir }).status).toBe(0);
  });

  const corruptions: [string, (dir: string) => void][] = [
    ['a changed file', (d) => writeFileSync(join(d, 'layer.tar'), 'bit rot', { flag: 'a' })],
    ['a missing file', (d) => rmSync(join(d, 'layer.tar'))],
    ['no SHA256SUMS (a build that never finished)', (d) => rmSync(join(d, 'SHA256SUMS'))],
    ['a truncated SHA256SUMS', (d) => truncateSync(join(d, 'SHA256SUMS'), 0)],
  ];
  for (const [what, corrupt] of corruptions) {
    it(`an entry with ${what} is deleted and rebuilt`, async () => {
      const dir = await entry();
      const before = builds;
      corrupt(dir);
      expect(await entry()).toBe(dir);
      expect(builds).toBe(before + 1);
      expect(readFileSync(join(dir, 'layer.tar'), 'utf8')).toBe(`layer ${builds}\n`);
    });
  }

  it('a failed build leaves no entry and no build folder', async () => {
    await expect(cachedEntry('unit-fail', () => Promise.reject(new Error('mirror unreachable')))).rejects.toThrow(/mirror unreachable/);
    expect(existsSync(join(tmp, 'cache/containers/unit-fail'))).toBe(false);
    expect(execFileSync('ls', ['-a', join(tmp, 'cache/containers')], { encoding: 'utf8' })).not.toMatch(/\.build-unit-fail/);
  });
});

describe('Debian mirror from the apt sources', () => {
  it('reads deb822 and one-line sources, skipping disabled and deb-src entries', () => {
    const deb822 = 'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n';
    expect(mirrorIn(deb822, true, 'bookworm')).toBe('http://mirror.example/debian');
    expect(mirrorIn('deb [arch=amd64] http://one.example/debian bookworm main\n', false, 'bookworm')).toBe('http://one.example/debian');
    expect(mirrorIn('deb http://one.example/debian trixie main\n', false, 'bookworm')).toBeUndefined();
  });

  it('leaves out a layer the engine already has, never a config', () => {
    const base = `sha256:${'b'.repeat(64)}`;
    const images: BuiltImage[] = [{ ref: 'a:1', tags: ['a:1'], id: `sha256:${'1'.repeat(64)}`, diffIds: [base, `sha256:${'c'.repeat(64)}`] }];
    const names = archiveEntries(images, () => '/dev/null', new Set([base])).map((e) => e.path);
    expect(names).toEqual(['blobs', 'blobs/sha256', `blobs/sha256/${'1'.repeat(64)}`, `blobs/sha256/${'c'.repeat(64)}`, 'manifest.json']);
  });
});
