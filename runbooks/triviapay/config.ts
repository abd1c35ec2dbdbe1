import { readFileSync } from 'node:fs';
import { checks, defineConfig, secret, str, type Values } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Secret } from '../../lib/core/secret.ts';

export interface TriviapayConfig {
  poolId: string;
  compartmentId: string;
  lbId: string;
  backendSet: string;
  backendPort: number;
  vnicSubnetId: string;
  imageTag: string;
  rollbackTo: string;
  healthyFloor: number | undefined;
  drainSeconds: number;
  runningWaitSeconds: number;
  healthWaitSeconds: number;
  pollSeconds: number;
  capacityRetries: number;
  capacityRetrySeconds: number;
  ociAuth: string;
  ociCli: string;
  healthcheckUrl: string;
  healthcheckDbUrl: string;
  smokeTimeoutSeconds: number;
  appEnvSecretId: string;
  ocirUsernameSecretId: string;
  ocirTokenSecretId: string;
  appEnvFile: string;
  ocirUsername: string;
  ocirToken?: Secret;
  ocirUserId: string;
  deleteTokenId: string;
  stateBucket: string;
  stateNamespace: string;
  stateObject: string;
  ocirRepoUrl: string;
  instanceMetadataUrl: string;
  bootDeadlineSeconds: number;
}

const ocid = (kind: string) => (v: string) => (new RegExp(`^ocid1\\.${kind}\\.[\\w.-]*\\.[\\w.-]*\\.?[\\w-]*`).test(v) ? null : `must be an OCID (ocid1.${kind}...), got "${v}"`);
const seconds = (min: number, max: number) => (v: string) => (/^\d+(\.\d+)?$/.test(v) && +v >= min && +v <= max ? null : `must be a number of seconds from ${min} to ${max}, got "${v}"`);

/** `terraform output -json` names (the seed's) for the variables they can fill. */
const TERRAFORM_NAMES: Record<string, string> = {
  INSTANCE_POOL_ID: 'instance_pool_id',
  COMPARTMENT_OCID: 'compartment_ocid',
  LB_ID: 'lb_id',
  LB_BACKEND_SET_NAME: 'lb_backend_set_name',
  BACKEND_PORT: 'backend_port',
  APP_ENV_SECRET_ID: 'app_env_secret_id',
  OCIR_USERNAME_SECRET_ID: 'ocir_username_secret_id',
  OCIR_AUTH_TOKEN_SECRET_ID: 'ocir_auth_token_secret_id',
  OCIR_REPO_URL: 'ocir_repo_url',
};

const VARS = {
  TERRAFORM_OUTPUTS_FILE: { description: 'a file holding `terraform output -json` (fills the pool, LB, port and secret ids below; the env file wins where both set one)', example: './terraform-outputs.json', optional: true },
  INSTANCE_POOL_ID: { description: 'the instance pool (terraform: instance_pool_id)', example: 'ocid1.instancepool.oc1.iad.aaaa', optional: true, check: ocid('instancepool') },
  COMPARTMENT_OCID: { description: 'the pool\'s compartment (terraform: compartment_ocid)', example: 'ocid1.compartment.oc1..aaaa', optional: true, check: ocid('compartment') },
  LB_ID: { description: 'the load balancer in front of the pool (terraform: lb_id)', example: 'ocid1.loadbalancer.oc1.iad.aaaa', optional: true, check: ocid('loadbalancer') },
  LB_BACKEND_SET_NAME: { description: 'its backend set (terraform: lb_backend_set_name)', example: 'api-backend', optional: true },
  BACKEND_PORT: { description: 'the backend port, equal to the app\'s PORT (terraform: backend_port)', example: '8000', optional: true, check: checks.int(1, 65535) },
  VNIC_SUBNET_ID: { description: 'when set, an instance\'s backend IP is its VNIC in this subnet (the rollout fails when none is)', example: 'ocid1.subnet.oc1.iad.aaaa', optional: true, check: ocid('subnet') },
  IMAGE_TAG: { description: 'the image tag the rollout deploys (the instance configuration\'s metadata triviapay_image_tag)', example: '2026.07.21-abc1234', optional: true, check: (v: string) => (/^[\w][\w.-]{0,127}$/.test(v) ? null : 'must be a Docker tag') },
  ROLLBACK_TO: { description: 'the rollback target: "previous" (recorded on the current configuration) or an instance configuration OCID', example: 'previous', default: 'previous' },
  HEALTHY_FLOOR: { description: 'fewest healthy backends allowed to serve during a rollout (default: the pool size at the start)', example: '1', optional: true, check: checks.int(0, 100) },
  BACKEND_DRAIN_TIMEOUT_SECONDS: { description: 'grace period for in-flight requests after a backend is set to drain (OCI has no drain timeout of its own)', example: '120', default: '120', check: seconds(0, 3600) },
  MAX_WAIT_SECONDS: { description: 'bound on the wait for new instances to be RUNNING with an IP', example: '1800', default: '1800', check: seconds(1, 7200) },
  LB_WAIT_TIMEOUT_SECONDS: { description: 'bound on the wait for new backends to be OK (OCI reports health with up to minutes of lag)', example: '600', default: '600', check: seconds(1, 7200) },
  POLL_SECONDS: { description: 'interval between OCI reads while waiting (each CLI call costs 1-2 s)', example: '10', default: '10', check: seconds(0.05, 120) },
  CAPACITY_RETRIES: { description: 'tries of a scale-up that fails with "Out of host capacity"', example: '5', default: '5', check: checks.int(1, 50) },
  CAPACITY_RETRY_SECONDS: { description: 'pause between those tries', example: '60', default: '60', check: seconds(0, 3600) },
  OCI_CLI_AUTH: { description: 'OCI CLI auth mode on this machine (unset: the CLI\'s own default)', example: 'api_key', optional: true, check: checks.oneOf('api_key', 'instance_principal', 'security_token', 'resource_principal') },
  OCI_CLI: { description: 'the OCI CLI program', example: 'oci', default: 'oci' },
  HEALTHCHECK_URL: { description: 'public health URL the smoke check calls (expects 200 and status healthy)', example: 'https://api.example.com/health', optional: true, check: (v: string) => (/^https?:\/\/\S+$/.test(v) ? null : 'must be an http(s) URL') },
  HEALTHCHECK_DB_URL: { description: 'a URL that touches the database, checked for 200 when set', example: 'https://api.example.com/health/db', optional: true, check: (v: string) => (/^https?:\/\/\S+$/.test(v) ? null : 'must be an http(s) URL') },
  SMOKE_TIMEOUT_SECONDS: { description: 'bound on each smoke request', example: '10', default: '10', check: seconds(1, 120) },
  APP_ENV_SECRET_ID: { description: 'Vault secret holding the app\'s .env.production, base64 (terraform: app_env_secret_id)', example: 'ocid1.vaultsecret.oc1.iad.aaaa', optional: true, check: ocid('vaultsecret') },
  OCIR_USERNAME_SECRET_ID: { description: 'Vault secret holding the OCIR username (terraform: ocir_username_secret_id)', example: 'ocid1.vaultsecret.oc1.iad.bbbb', optional: true, check: ocid('vaultsecret') },
  OCIR_AUTH_TOKEN_SECRET_ID: { description: 'Vault secret holding the OCIR auth token (terraform: ocir_auth_token_secret_id)', example: 'ocid1.vaultsecret.oc1.iad.cccc', optional: true, check: ocid('vaultsecret') },
  APP_ENV_FILE: { description: 'the .env.production the secrets runbook puts into Vault (a path on this machine)', example: './.env.production', optional: true },
  OCIR_USERNAME: { description: 'OCIR username the secrets runbook puts into Vault (<namespace>/<user>)', example: 'axaxnpcrorw5/oracleidentitycloudservice/ci@example.com', optional: true },
  OCIR_AUTH_TOKEN: { description: 'OCIR auth token the secrets runbook puts into Vault', example: 'example-token', optional: true, secret: true },
  OCIR_USER_ID: { description: 'the IAM user whose auth token OCIR logins use (rotation)', example: 'ocid1.user.oc1..aaaa', optional: true, check: ocid('user') },
  DELETE_TOKEN_ID: { description: 'with two tokens present, the rotation deletes this one (it must not be the one in Vault)', example: 'ocid1.credential.oc1..aaaa', optional: true, check: ocid('credential') },
  STATE_BUCKET: { description: 'Object Storage bucket of the Terraform state (verify)', example: 'triviapay-tfstate', optional: true, check: checks.bucket },
  STATE_NAMESPACE: { description: 'its namespace (verify; default: this tenancy\'s)', example: 'axaxnpcrorw5', optional: true },
  OCIR_REPO_URL: { description: 'the image repository instances pull from, registry host first (terraform: ocir_repo_url); the tag comes from each instance configuration', example: 'iad.ocir.io/axaxnpcrorw5/triviapay-api', optional: true, check: (v: string) => (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(v) ? null : `must be REGISTRY/NAMESPACE/REPO in lower case (e.g. iad.ocir.io/ns/triviapay-api), got "${v}"`) },
  INSTANCE_METADATA_URL: { description: 'where an instance reads its own metadata (triviapay_image_tag) at first boot: OCI\'s instance metadata service v2', example: 'http://169.254.169.254/opc/v2/instance/metadata', default: 'http://169.254.169.254/opc/v2/instance/metadata', check: (v: string) => (/^(https?|file):\/\/[A-Za-z0-9._~:/%-]+$/.test(v) ? null : `must be an http(s) URL without quotes or spaces, got "${v}"`) },
  BOOT_DEADLINE_SECONDS: { description: 'how long an instance\'s first boot keeps retrying Vault, the registry and packages (instance-principal permissions can take minutes) before it fails', example: '1200', default: '1200', check: checks.int(60, 86_400) },
  STATE_OBJECT: { description: 'the state object (verify)', example: 'triviapay/terraform.tfstate', default: 'triviapay/terraform.tfstate', check: checks.objectName },
};

/** Reads `terraform output -json`: {"name": {"value": ...}}; values become strings. */
function terraformOutputs(file: string): Record<string, string> {
  let j: Record<string, { value?: unknown }>;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { value?: unknown }>;
  } catch (e) {
    throw new RunbookError('config', `TERRAFORM_OUTPUTS_FILE ${file} is not readable JSON: ${(e as Error).message}`, { hint: 'terraform -chdir=infra output -json > terraform-outputs.json' });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(j)) if (v && typeof v === 'object' && v.value !== undefined && v.value !== null) out[k] = String(v.value);
  return out;
}

export const triviapayConfig = defineConfig<TriviapayConfig>(VARS, (v: Values) => {
  const tf = str(v, 'TERRAFORM_OUTPUTS_FILE') ? terraformOutputs(str(v, 'TERRAFORM_OUTPUTS_FILE')) : {};
  const problems: string[] = [];
  const get = (k: keyof typeof VARS, fallback = ''): string => {
    const own = str(v, k);
    if (own) return own;
    const name = TERRAFORM_NAMES[k];
    const t = name ? tf[name] : undefined;
    if (t === undefined) return fallback;
    const bad = (VARS[k] as { check?: (x: string) => string | null }).check?.(t);
    if (bad) problems.push(`terraform output ${name} ${bad}`);
    return t;
  };
  const c: TriviapayConfig = {
    poolId: get('INSTANCE_POOL_ID'),
    compartmentId: get('COMPARTMENT_OCID'),
    lbId: get('LB_ID'),
    backendSet: get('LB_BACKEND_SET_NAME', 'api-backend'),
    backendPort: Number(get('BACKEND_PORT', '8000')),
    vnicSubnetId: str(v, 'VNIC_SUBNET_ID'),
    imageTag: str(v, 'IMAGE_TAG'),
    rollbackTo: str(v, 'ROLLBACK_TO'),
    healthyFloor: str(v, 'HEALTHY_FLOOR') ? Number(str(v, 'HEALTHY_FLOOR')) : undefined,
    drainSeconds: Number(str(v, 'BACKEND_DRAIN_TIMEOUT_SECONDS')),
    runningWaitSeconds: Number(str(v, 'MAX_WAIT_SECONDS')),
    healthWaitSeconds: Number(str(v, 'LB_WAIT_TIMEOUT_SECONDS')),
    pollSeconds: Number(str(v, 'POLL_SECONDS')),
    capacityRetries: Number(str(v, 'CAPACITY_RETRIES')),
    capacityRetrySeconds: Number(str(v, 'CAPACITY_RETRY_SECONDS')),
    ociAuth: str(v, 'OCI_CLI_AUTH'),
    ociCli: str(v, 'OCI_CLI'),
    healthcheckUrl: str(v, 'HEALTHCHECK_URL'),
    healthcheckDbUrl: str(v, 'HEALTHCHECK_DB_URL'),
    smokeTimeoutSeconds: Number(str(v, 'SMOKE_TIMEOUT_SECONDS')),
    appEnvSecretId: get('APP_ENV_SECRET_ID'),
    ocirUsernameSecretId: get('OCIR_USERNAME_SECRET_ID'),
    ocirTokenSecretId: get('OCIR_AUTH_TOKEN_SECRET_ID'),
    appEnvFile: str(v, 'APP_ENV_FILE'),
    ocirUsername: str(v, 'OCIR_USERNAME'),
    ocirToken: v.OCIR_AUTH_TOKEN ? secret(v, 'OCIR_AUTH_TOKEN') : undefined,
    ocirUserId: str(v, 'OCIR_USER_ID'),
    deleteTokenId: str(v, 'DELETE_TOKEN_ID'),
    stateBucket: str(v, 'STATE_BUCKET'),
    stateNamespace: str(v, 'STATE_NAMESPACE'),
    stateObject: str(v, 'STATE_OBJECT'),
    ocirRepoUrl: get('OCIR_REPO_URL'),
    instanceMetadataUrl: str(v, 'INSTANCE_METADATA_URL'),
    bootDeadlineSeconds: Number(str(v, 'BOOT_DEADLINE_SECONDS')),
  };
  if (problems.length) throw new RunbookError('config', problems.join('\n  '), { hint: 'fix the Terraform outputs or set the variables in the env file' });
  return c;
});

/** The variables a runbook needs, checked when it starts: names what is missing and where it could come from. */
export function need(c: TriviapayConfig, runbook: string, keys: (keyof TriviapayConfig)[]): void {
  const names: Partial<Record<keyof TriviapayConfig, string>> = { poolId: 'INSTANCE_POOL_ID', compartmentId: 'COMPARTMENT_OCID', lbId: 'LB_ID', imageTag: 'IMAGE_TAG', appEnvSecretId: 'APP_ENV_SECRET_ID', ocirUsernameSecretId: 'OCIR_USERNAME_SECRET_ID', ocirTokenSecretId: 'OCIR_AUTH_TOKEN_SECRET_ID', healthcheckUrl: 'HEALTHCHECK_URL', ocirUserId: 'OCIR_USER_ID', stateBucket: 'STATE_BUCKET', ocirRepoUrl: 'OCIR_REPO_URL' };
  const missing = keys.filter((k) => !c[k]).map((k) => names[k] ?? k);
  if (missing.length) {
    throw new RunbookError('config', `${runbook} needs ${missing.join(', ')}`, { hint: `set ${missing.join(', ')} in the env file${missing.some((m) => Object.keys(TERRAFORM_NAMES).includes(m)) ? ', or point TERRAFORM_OUTPUTS_FILE at `terraform output -json`' : ''}` });
  }
}
