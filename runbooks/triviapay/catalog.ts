import { type CatalogEntry, titleIn } from '../../lib/cli/catalog.ts';

/** This system's runbooks as `runbook list` shows them; each is loaded only when used. */
export const catalog: CatalogEntry[] = [
  { name: 'triviapay.rollout', title: 'TriviaPay: rolling update of the instance pool to a new image tag', load: async () => (await import('./index.ts')).rollout },
  { name: 'triviapay.rollback', title: 'TriviaPay: back to the previous (or a named) instance configuration', load: async () => (await import('./index.ts')).rollback },
  { name: 'triviapay.secrets', title: 'TriviaPay: .env.production and the OCIR credentials into Vault', load: async () => (await import('./index.ts')).secrets },
  { name: 'triviapay.rotate-ocir-token', title: 'TriviaPay: rotate the OCIR auth token', load: async () => (await import('./index.ts')).rotateOcirToken },
  { name: 'triviapay.verify', title: 'TriviaPay: the seed\'s verification commands as checks', load: async () => (await import('./index.ts')).verify },
  { name: 'triviapay.smoke', title: 'TriviaPay: post-deploy smoke test', load: async () => (await import('./index.ts')).smoke },
];

export const title = (name: string): string => titleIn(catalog, name);
