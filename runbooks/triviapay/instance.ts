// The pool instance's first boot: the cloud-init user-data every instance configuration the
// runbooks create carries (metadata.user_data), rendered from the env with checked placeholders.
import { renderUserData } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { need, type TriviapayConfig } from './config.ts';

export const USER_DATA_TEMPLATE = 'cloud-init/triviapay.yaml';

/**
 * OCI refuses instance metadata over 32,000 bytes ("Metadata size is N bytes and cannot be larger
 * than 32000 bytes", 400 InvalidParameter), measured on what is sent: user_data counts base64.
 */
export const OCI_METADATA_LIMIT = 32_000;

/** Bytes of a metadata map as the service counts them (keys and values; a conservative sum). */
export const metadataSize = (m: Record<string, string>) => Object.entries(m).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

/** The user-data's values: every one required and non-blank (the upstream template lost them to envsubst). */
export function instanceVars(c: TriviapayConfig): Record<string, string> {
  need(c, 'the instance user-data', ['ocirRepoUrl', 'appEnvSecretId', 'ocirUsernameSecretId', 'ocirTokenSecretId']);
  const vars: Record<string, string> = {
    OCIR_REPO_URL: c.ocirRepoUrl,
    APP_ENV_SECRET_ID: c.appEnvSecretId,
    OCIR_USERNAME_SECRET_ID: c.ocirUsernameSecretId,
    OCIR_AUTH_TOKEN_SECRET_ID: c.ocirTokenSecretId,
    BACKEND_PORT: String(c.backendPort),
    INSTANCE_METADATA_URL: c.instanceMetadataUrl.replace(/\/+$/, ''),
    BOOT_DEADLINE_SECONDS: String(c.bootDeadlineSeconds),
  };
  const blank = Object.entries(vars).filter(([, v]) => !v.trim() || v === 'NaN' || v === 'undefined');
  if (blank.length) throw new RunbookError('config', `the instance user-data would carry blank ${blank.map(([k]) => k).join(', ')}`, { hint: 'set them in the env file' });
  return vars;
}

export function renderInstanceUserData(c: TriviapayConfig): string {
  return renderUserData(USER_DATA_TEMPLATE, instanceVars(c));
}

/** metadata.user_data as the instance configuration holds it: base64 of the user-data. */
export function userDataMetadata(c: TriviapayConfig): string {
  return Buffer.from(renderInstanceUserData(c)).toString('base64');
}

/** Refuses metadata OCI would refuse, before anything is created, naming the size. */
export function checkMetadataSize(meta: Record<string, string>): void {
  const n = metadataSize(meta);
  if (n > OCI_METADATA_LIMIT) throw new RunbookError('config', `the instance metadata would be ${n} bytes; OCI refuses more than ${OCI_METADATA_LIMIT}`, { hint: 'shorten the metadata (ssh keys, extra keys) or the user-data' });
}
