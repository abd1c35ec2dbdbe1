import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import type { Oci } from './oci.ts';

export interface SecretState {
  version: number;
  /** The version's name; the token rotation names a version after the auth token it holds. */
  versionName: string | null;
  sha256: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The current version of a Vault secret, as a hash: its content is decoded in memory only, never printed. */
export async function currentSecret(oci: Oci, secretId: string): Promise<SecretState & { content: Secret }> {
  const d = await oci.data<Record<string, unknown>>(['secrets', 'secret-bundle', 'get', '--secret-id', secretId, '--stage', 'CURRENT']);
  const content = (d?.['secret-bundle-content'] as { content?: string } | undefined)?.content;
  if (!d || content === undefined) throw new RunbookError('stepFailed', `secret ${secretId}: no content in its current version`, { hint: `oci secrets secret-bundle get --secret-id ${secretId} --query 'data."version-number"'` });
  const bytes = Buffer.from(content, 'base64');
  return { version: Number(d['version-number']), versionName: (d['version-name'] as string | null) ?? null, sha256: sha256(bytes), content: new Secret(`secret ${secretId}`, bytes.toString('utf8')) };
}

/**
 * A new version of a Vault secret without the content in any argv: `--from-json file://` with a
 * file only this user can read, in a folder only this user can enter, removed whatever happens.
 */
export async function putSecret(oci: Oci, secretId: string, content: Buffer, o: { versionName?: string; what: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'triviapay-secret-'));
  const file = join(dir, 'secret.json');
  try {
    const body = { secretId, secretContentContent: content.toString('base64'), ...(o.versionName ? { secretContentName: o.versionName } : {}) };
    // The encoded body is a secret too: registered so no printer can show it.
    new Secret(o.what, body.secretContentContent);
    writeFileSync(file, JSON.stringify(body), { mode: 0o600, flag: 'wx' });
    await oci.call(['vault', 'secret', 'update-base64', '--from-json', `file://${file}`], { write: true, what: `new version of ${o.what} (${secretId})` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hashOf = sha256;
