import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { RunbookError } from './errors.ts';

let root: string | undefined;

/** The project folder that holds the shipped assets (works from source and from the bundle). */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'systemd'))) return (root = dir);
    dir = dirname(dir);
  }
  throw new Error('cannot find the project folder holding systemd/, nftables/ and cloud-init/');
}

/** Asset files are read from RUNBOOK_ASSETS_DIR when set (tests point it at a broken copy). */
export function assetsDir(): string {
  return process.env.RUNBOOK_ASSETS_DIR ? resolve(process.env.RUNBOOK_ASSETS_DIR) : projectRoot();
}

export function readAsset(rel: string): string {
  const p = join(assetsDir(), rel);
  try {
    return readFileSync(p, 'utf8');
  } catch {
    throw new RunbookError('precondition', `asset ${rel} is missing (looked in ${p})`, { hint: 'reinstall the runbooks package' });
  }
}

/**
 * Fills `{{NAME}}` placeholders. A placeholder with no value, or a value with a newline where the
 * template expects one line, is an error: a half-rendered config must never reach a host.
 */
export function renderTemplate(text: string, vars: Record<string, string>, name = 'template'): string {
  const missing = new Set<string>();
  const multiLine = new Set<string>();
  const out = text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (m, k: string, at: number) => {
    const v = vars[k];
    if (v === undefined) {
      missing.add(k);
      return '';
    }
    // Only a placeholder alone on its line may take several lines (a block of lines built by
    // the runbook itself); anywhere else a line break or control character would add lines.
    const start = text.lastIndexOf('\n', at) + 1;
    const end = text.indexOf('\n', at);
    const alone = text.slice(start, end === -1 ? undefined : end).trim() === m;
    if (alone ? /[\u0000-\u0008\u000b-\u001f\u007f]/.test(v) : /[\u0000-\u001f\u007f]/.test(v)) multiLine.add(k);
    return v;
  });
  if (missing.size) throw new RunbookError('config', `${name} needs ${[...missing].join(', ')} but no value was given`);
  if (multiLine.size) throw new RunbookError('config', `${name}: the value of ${[...multiLine].join(', ')} holds a line break or a control character where the file takes one line`, { hint: 'remove it from the variable' });
  return out;
}

export function renderAsset(rel: string, vars: Record<string, string>): string {
  return renderTemplate(readAsset(rel), vars, rel);
}

/**
 * Renders a cloud-init user-data template: `{{B64:path}}` becomes the base64 of that asset rendered
 * with the same values, so first boot writes byte-for-byte what the runbook writes; `{{GZB64:path}}`
 * the base64 of its gzip (cloud-init's `encoding: gz+b64`), for metadata with a size limit. The
 * gzip header carries no time, so the same files give the same user-data.
 */
export function renderUserData(rel: string, vars: Record<string, string>): string {
  const withFiles = readAsset(rel)
    .replace(/\{\{B64:([^}]+)\}\}/g, (_m, p: string) => Buffer.from(renderAsset(p, vars)).toString('base64'))
    .replace(/\{\{GZB64:([^}]+)\}\}/g, (_m, p: string) => gzipSync(Buffer.from(renderAsset(p, vars)), { level: 9 }).toString('base64'));
  return renderTemplate(withFiles, vars, rel);
}
