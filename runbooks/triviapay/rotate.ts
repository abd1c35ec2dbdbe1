import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import type { Step, StepContext } from '../../lib/engine/types.ts';
import { need, type TriviapayConfig } from './config.ts';
import { Oci } from './oci.ts';
import { apiOf, getConfig, newConfigurationStep, replaceStep } from './rollout.ts';
import { currentSecret, putSecret } from './vault.ts';

type Ctx = StepContext<TriviapayConfig>;
/** Instance configuration metadata naming the auth token the instances log in with (a new value forces new instances). */
export const META_TOKEN = 'triviapay_ocir_token_id';

interface Token {
  id: string;
  description: string;
}

async function tokens(oci: Oci, userId: string): Promise<Token[]> {
  const items = await oci.list<Record<string, unknown>>(['iam', 'auth-token', 'list', '--user-id', userId, '--all']);
  return items.filter((t) => t['lifecycle-state'] === 'ACTIVE').map((t) => ({ id: String(t.id), description: String(t.description ?? '') }));
}

/** The auth token Vault holds: the rotation names each version after its token's OCID. */
const vaultTokenId = async (ctx: Ctx) => (await currentSecret(new Oci(ctx.exec, ctx.config), ctx.config.ocirTokenSecretId)).versionName;

async function poolTokenId(ctx: Ctx): Promise<string | undefined> {
  const api = apiOf(ctx);
  return (await getConfig(api, (await api.pool()).configId)).metadata[META_TOKEN];
}

function newTokenStep(): Step<TriviapayConfig> {
  return {
    id: 'triviapay.ocir-token-new',
    title: 'A new OCIR auth token, straight into Vault',
    doc: 'Creates an auth token for `OCIR_USER_ID` and puts it into the OCIR token secret (`--from-json file://`, a 0600 file removed afterwards), naming the secret version after the token\'s OCID. The token appears only in that one CLI answer and is never printed. OCI allows two auth tokens per user: with two present, the run names the one that is not in Vault and stops, unless `DELETE_TOKEN_ID` names it.',
    async check(ctx) {
      need(ctx.config, 'triviapay.rotate-ocir-token', ['ocirUserId', 'ocirTokenSecretId', 'poolId', 'compartmentId', 'lbId', 'ocirRepoUrl', 'appEnvSecretId', 'ocirUsernameSecretId']);
      const inVault = await vaultTokenId(ctx);
      const onPool = await poolTokenId(ctx);
      if (inVault && inVault !== onPool) return { done: true, reason: `Vault holds token ${inVault}, which the instances do not use yet: the next steps roll it out` };
      return { done: false, reason: inVault ? `the instances use token ${inVault}: rotating` : 'Vault holds no token this runbook made: rotating' };
    },
    async apply(ctx) {
      const c = ctx.config;
      const oci = new Oci(ctx.exec, c);
      const inVault = await vaultTokenId(ctx);
      const present = await tokens(oci, c.ocirUserId);
      if (present.length >= 2) {
        const spare = present.filter((t) => t.id !== inVault);
        const named = spare.find((t) => t.id === c.deleteTokenId);
        if (!named) {
          throw new RunbookError('precondition', `user ${c.ocirUserId} already has two auth tokens (OCI's limit): ${present.map((t) => `${t.id}${t.id === inVault ? ' (in Vault)' : ' (not in Vault)'} "${t.description}"`).join(', ')}`, {
            hint: spare.length ? `if nothing else uses it, re-run with DELETE_TOKEN_ID=${spare[0]?.id}` : 'delete one of them in the console, then re-run',
          });
        }
        ctx.log(`deleting auth token ${named.id} (not in Vault, named by DELETE_TOKEN_ID)`);
        await oci.call(['iam', 'auth-token', 'delete', '--user-id', c.ocirUserId, '--auth-token-id', named.id, '--force'], { write: true, what: `delete auth token ${named.id}` });
      }
      const created = await oci.data<Record<string, unknown>>(['iam', 'auth-token', 'create', '--user-id', c.ocirUserId, '--description', `triviapay OCIR pull ${new Date().toISOString().slice(0, 10)}`], { write: true, what: 'create an OCIR auth token' });
      if (oci.dryRun) return;
      const id = String(created?.id);
      const token = new Secret('OCIR auth token', String(created?.token ?? ''));
      if (!token.reveal()) throw new RunbookError('stepFailed', `auth token ${id} was created but its answer held no token`, { hint: `delete it (oci iam auth-token delete --user-id ${c.ocirUserId} --auth-token-id ${id} --force) and re-run` });
      await putSecret(oci, c.ocirTokenSecretId, Buffer.from(token.reveal()), { versionName: id, what: 'OCIR auth token' });
      ctx.log(`auth token ${id} is in Vault (secret ${c.ocirTokenSecretId})`);
    },
  };
}

function deleteOldStep(): Step<TriviapayConfig> {
  return {
    id: 'triviapay.ocir-token-delete-old',
    title: 'The old auth token deleted, once every instance uses the new one',
    async check(ctx) {
      const inVault = await vaultTokenId(ctx);
      if (!inVault) return { done: false, reason: 'the OCIR token secret names no auth token' };
      const others = (await tokens(new Oci(ctx.exec, ctx.config), ctx.config.ocirUserId)).filter((t) => t.id !== inVault);
      return others.length ? { done: false, reason: `token(s) besides the one in Vault: ${others.map((t) => t.id).join(', ')}` } : { done: true, reason: `only ${inVault} is left` };
    },
    async apply(ctx) {
      const c = ctx.config;
      const inVault = await vaultTokenId(ctx);
      if (!inVault) throw new RunbookError('precondition', `the OCIR token secret ${c.ocirTokenSecretId} names no auth token: nothing tells which token is old`, { hint: 're-run triviapay.rotate-ocir-token from its first step' });
      if ((await poolTokenId(ctx)) !== inVault && !ctx.exec.dryRun) throw new RunbookError('precondition', `the pool's configuration does not use token ${inVault} yet: deleting the old one would stop image pulls`, { hint: 're-run triviapay.rotate-ocir-token' });
      const oci = new Oci(ctx.exec, c);
      for (const t of (await tokens(oci, c.ocirUserId)).filter((x) => x.id !== inVault)) {
        ctx.log(`deleting old auth token ${t.id}`);
        await oci.call(['iam', 'auth-token', 'delete', '--user-id', c.ocirUserId, '--auth-token-id', t.id, '--force'], { write: true, what: `delete auth token ${t.id}` });
      }
    },
  };
}

export function rotateSteps(): Step<TriviapayConfig>[] {
  return [
    newTokenStep(),
    newConfigurationStep({
      id: 'triviapay.ocir-token-configuration',
      title: 'Instance configuration naming the new token, and the pool pointed at it',
      doc: 'A copy of the current configuration whose metadata names the token in Vault, with the first-boot user-data rendered as the rollout renders it (`runbook user-data triviapay.rollout`), so the gated rollout replaces every instance and each logs in to OCIR with it at boot.',
      runbook: 'triviapay.rotate-ocir-token',
      want: async (ctx, cur, newUserData) => {
        const id = await vaultTokenId(ctx);
        if (!id || cur.metadata[META_TOKEN] === id) return null;
        return { metadata: { [META_TOKEN]: id }, label: `OCIR token ${id}${newUserData ? ' and new first-boot user-data' : ''}`, name: `triviapay-${cur.image}` };
      },
    }),
    replaceStep(),
    deleteOldStep(),
  ];
}
