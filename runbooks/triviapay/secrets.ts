import { readFileSync } from 'node:fs';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import type { Step } from '../../lib/engine/types.ts';
import { need, type TriviapayConfig } from './config.ts';
import { Oci } from './oci.ts';
import { currentSecret, hashOf, putSecret } from './vault.ts';

interface Wanted {
  secretId: string;
  what: string;
  content: () => Buffer;
}

/** One secret converged: its current version must hash to the wanted content; compared and reported by hash only. */
function secretStep(id: string, title: string, wanted: (c: TriviapayConfig) => Wanted | null): Step<TriviapayConfig> {
  return {
    id,
    title,
    async check(ctx) {
      const w = wanted(ctx.config);
      if (!w) return { done: true, reason: 'not asked for (its variables are not set)' };
      const cur = await currentSecret(new Oci(ctx.exec, ctx.config), w.secretId);
      const want = hashOf(w.content());
      return cur.sha256 === want ? { done: true, reason: `${w.what}: Vault version ${cur.version} matches (sha256 ${want.slice(0, 12)}…)` } : { done: false, reason: `${w.what}: Vault version ${cur.version} differs (sha256 ${cur.sha256.slice(0, 12)}…, want ${want.slice(0, 12)}…)` };
    },
    async apply(ctx) {
      const w = wanted(ctx.config) as Wanted;
      await putSecret(new Oci(ctx.exec, ctx.config), w.secretId, w.content(), { what: w.what });
    },
  };
}

function readEnvFile(path: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new RunbookError('config', `APP_ENV_FILE ${path} cannot be read: ${(e as Error).message}`, { hint: 'point APP_ENV_FILE at the .env.production to upload' });
  }
  // Registered for redaction, so no log line or error can carry it.
  new Secret('APP_ENV_FILE', b.toString('utf8'));
  for (const line of b.toString('utf8').split('\n')) {
    const v = /^\s*[\w.]+\s*=\s*(.*)$/.exec(line)?.[1]?.trim().replace(/^["']|["']$/g, '');
    if (v) new Secret('APP_ENV_FILE value', v);
  }
  return b;
}

export function secretsSteps(): Step<TriviapayConfig>[] {
  return [
    secretStep('triviapay.app-env-secret', '.env.production in its Vault secret', (c) => {
      if (!c.appEnvFile) return null;
      need(c, 'triviapay.secrets', ['appEnvSecretId']);
      return { secretId: c.appEnvSecretId, what: 'app env', content: () => readEnvFile(c.appEnvFile) };
    }),
    secretStep('triviapay.ocir-username-secret', 'OCIR username in its Vault secret', (c) => {
      if (!c.ocirUsername) return null;
      need(c, 'triviapay.secrets', ['ocirUsernameSecretId']);
      return { secretId: c.ocirUsernameSecretId, what: 'OCIR username', content: () => Buffer.from(c.ocirUsername) };
    }),
    secretStep('triviapay.ocir-token-secret', 'OCIR auth token in its Vault secret', (c) => {
      if (!c.ocirToken) return null;
      need(c, 'triviapay.secrets', ['ocirTokenSecretId']);
      const token = c.ocirToken;
      return { secretId: c.ocirTokenSecretId, what: 'OCIR auth token', content: () => Buffer.from(token.reveal()) };
    }),
  ];
}
