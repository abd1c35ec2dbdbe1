// First boot of an EventfoldDB host: one env file holds base-host's, eventfold-db's and the
// bootstrap's own variables; the user-data writes each runbook's env file back out and runs
// cloud-init/runbook-bootstrap.sh, which runs the runbooks on the host itself.
import { checks, combineSchemas, envText, type Values } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { Secret } from '../../lib/core/secret.ts';
import { baseHostConfig, templateVars, type BaseHostConfig } from '../base-host/index.ts';
import { eventfoldConfig } from './config.ts';

export interface BootstrapConfig {
  base: BaseHostConfig;
  envFiles: { 'base-host': string; 'eventfold-db': string; bootstrap: string };
}

/** OCI instance metadata (user_data included) is limited to 32,000 bytes. */
export const OCI_USER_DATA_LIMIT = 32_000;

const HEADER = '# Written by the first-boot user-data (runbook user-data eventfold-db); mode 600.';

export const bootstrapConfig = combineSchemas(
  { 'base-host': baseHostConfig, 'eventfold-db': eventfoldConfig },
  {
    RUNBOOK_BUNDLE_BUCKET: { description: 'bucket holding the runbook bundle (npm run build makes dist/runbook-bundle.tar.gz)', example: 'eventfold-artifacts', check: checks.bucket },
    RUNBOOK_BUNDLE_OBJECT: { description: 'object name of the runbook bundle', example: 'runbook/runbook-bundle-0.1.0.tar.gz', check: checks.objectName },
    RUNBOOK_BUNDLE_SHA256: { description: 'SHA-256 of the runbook bundle; first boot refuses any other', example: '0'.repeat(64), check: checks.sha256 },
    BOOTSTRAP_DEADLINE_SECONDS: { description: 'how long first boot keeps trying (fetches wait for instance-principal permissions) before it gives up', example: '1200', default: '1200', check: checks.int(60, 86_400) },
  },
  (parts, own): BootstrapConfig => {
    const secrets = Object.entries({ ...parts['base-host'], ...parts['eventfold-db'] }).filter(([, v]) => v instanceof Secret);
    if (secrets.length) {
      const names = secrets.map(([k]) => k).join(', ');
      throw new RunbookError('config', `${names} cannot go into user-data: instance metadata is readable by every process on the host`, { hint: `leave ${names} out of this env file; set it afterwards with runbook run eventfold-db --target ssh://... --env FILE (mode 600)` });
    }
    const localFiles = ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_TRUST_FILE'].filter((k) => parts['eventfold-db'][k]);
    if (localFiles.length) throw new RunbookError('config', `${localFiles.join(', ')} name files on this machine, which first boot cannot reach (and a private key does not belong in instance metadata)`, { hint: 'leave the TLS_ lines out of user-data; first boot serves plaintext inside the VCN, then turn TLS on with runbook run eventfold-db --target ssh://... --env FILE' });
    if (parts['eventfold-db'].RELEASE_FILE) throw new RunbookError('config', 'RELEASE_FILE names a file on this machine, which first boot cannot reach', { hint: 'upload the release and set RELEASE_BUCKET and RELEASE_OBJECT instead' });
    for (const k of ['RELEASE_BUCKET', 'RELEASE_OBJECT', 'RELEASE_VERSION', 'RELEASE_SHA256']) {
      if (!parts['eventfold-db'][k]) throw new RunbookError('config', `${k} is required in user-data: first boot deploys the release from Object Storage`, { hint: `set ${k} in the env file` });
    }
    const bootstrap: Values = { ...own, OCI_CLI_AUTH: parts['eventfold-db'].OCI_CLI_AUTH, RUNBOOKS: 'base-host eventfold-db' };
    return {
      base: baseHostConfig.build(parts['base-host']),
      envFiles: {
        'base-host': envText(Object.keys(baseHostConfig.vars), parts['base-host'], HEADER),
        'eventfold-db': envText(Object.keys(eventfoldConfig.vars), parts['eventfold-db'], HEADER),
        bootstrap: envText(Object.keys(bootstrap), bootstrap, HEADER),
      },
    };
  },
);

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function bootstrapVars(c: BootstrapConfig): Record<string, string> {
  const base = templateVars(c.base);
  return {
    ADMIN_USER: base.ADMIN_USER ?? '',
    ADMIN_SSH_KEYS_JSON: base.ADMIN_SSH_KEYS_JSON ?? '[]',
    BASE_HOST_ENV_B64: b64(c.envFiles['base-host']),
    EVENTFOLD_DB_ENV_B64: b64(c.envFiles['eventfold-db']),
    BOOTSTRAP_ENV_B64: b64(c.envFiles.bootstrap),
  };
}
