import { title } from './catalog.ts';
import type { Runbook } from '../../lib/engine/types.ts';
import { triviapayConfig, type TriviapayConfig } from './config.ts';
import { instanceVars, USER_DATA_TEMPLATE } from './instance.ts';
import { configurationStep, replaceStep, rollbackSwitchStep } from './rollout.ts';
import { rotateSteps } from './rotate.ts';
import { secretsSteps } from './secrets.ts';
import { smokeSteps } from './smoke.ts';
import { verifySteps } from './verify.ts';

const SEED = 'triviapay-oci-instance-pool.md';

const DEVIATIONS = [
  'The seed\'s JMESPath `data[?lifecycle-state==\'RUNNING\']` is a syntax error (the dash) and list-instances has `state` (title case, e.g. "Running"), not `lifecycle-state`: the runbooks parse the JSON themselves and compare `state` case-insensitively.',
  '`oci lb backend-set-health get` has no per-backend array: each new backend is gated on `oci lb backend-health get --backend-name ip:port`; UNKNOWN, WARNING, CRITICAL and UNKNOWN_ENUM_VALUE all count as not healthy.',
  'Every wait is bounded (MAX_WAIT_SECONDS for RUNNING, LB_WAIT_TIMEOUT_SECONDS for health) and says what it waits for; the upstream wait for RUNNING had no timeout.',
  '`oci lb backend update` needs weight, backup, drain and offline together and replaces them: the runbook reads the backend and sends its values back with only drain changed.',
  'Health is `{"status":"healthy"}` (the seed\'s scripts do not say; the app answers this, not "ok").',
  'The image tag lives in the instance configuration\'s metadata (`triviapay_image_tag`), which the instance reads at boot; a rollout copies the configuration with only that key changed.',
  'The seed scales back to the old size after terminating old instances; with a pool above one instance that would dip under the healthy floor, so old members are detached one at a time (the pool launches a replacement from the new configuration) and only the last detach shrinks the pool.',
  'The seed\'s instance cloud-init was a template holding both Terraform `${}` and shell `${}`, blanked by `envsubst` (so `/etc/triviapay.env` lost its contents): the user-data here is rendered from `{{NAME}}` placeholders that must all have non-blank values, the scripts and the unit are shipped files embedded byte for byte, and their shell variables stay as written.',
  'The instance takes its image tag from its own metadata (`triviapay_image_tag`) at boot, so the user-data is the same for every tag; every configuration the rollout or the token rotation creates gets `user_data` rendered afresh from this version\'s template and settings, so a configuration never carries an older boot script.',
  'A `PORT` in the app env other than the backend port fails the first boot with a clear message, instead of an instance the load balancer never sees healthy (the seed: "keep host port == container port == backend_port").',
  'The registry login lasts only for the pull (`docker logout` afterwards; the unit runs `docker run --pull never`), so no OCIR credential stays on the instance\'s disk.',
  'The rollout records the size at the start, the floor and the previous configuration as freeform tags on the pool, so a run started again after being killed (or from another CI job) finds them.',
];

const base = { seed: SEED, deviations: DEVIATIONS, config: triviapayConfig, apiOnly: true } as const;

export const rollout: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.rollout',
  title: title('triviapay.rollout'),
  summary: 'A new instance configuration with IMAGE_TAG, then a health-gated surge-and-replace that never serves from fewer healthy backends than the floor, drains each old backend before terminating it, returns to the previous configuration by itself when the new one never becomes healthy, and converges when run again after being killed.',
  steps: () => [configurationStep(), replaceStep()],
  cloudInit: { template: USER_DATA_TEMPLATE, vars: instanceVars },
  cloudInitDoc: [
    'Every instance configuration the rollout (and the token rotation) creates carries this user-data as `metadata.user_data`; `runbook user-data triviapay.rollout --env FILE` prints it (e.g. for Terraform\'s first configuration). At first boot the instance:',
    '',
    '- installs `docker.io`, `logrotate` and `curl` from the distribution when the image lacks them (the image must ship the OCI CLI);',
    '- reads its image tag from its own metadata (`triviapay_image_tag`, `INSTANCE_METADATA_URL`);',
    '- reads the app env, the OCIR username and the OCIR token from Vault with its instance principal, retried for `BOOT_DEADLINE_SECONDS` (the dynamic group needs `read secret-bundles`);',
    '- writes `/etc/triviapay.env` (mode 600) with `APP_LOG_PATH=/var/log/triviapay/app.log` and `PORT` added only when missing, the log folder owned by 10001:10001 and logrotate for `APP_LOG_PATH` (daily, 14, compress, delaycompress, `create 0640 10001 10001`);',
    '- logs in to the registry with the token on stdin, pulls `OCIR_REPO_URL:TAG`, logs out;',
    '- starts `triviapay.service` (`docker run --rm`, restarts by systemd, port `BACKEND_PORT` on both sides, the log folder mounted), whose start ends only when `/health` answers `{"status":"healthy"}`; `/run/triviapay/ready` then names the image serving.',
    '',
    'The app takes its settings from its environment, so `docker run --env-file` hands it the env file\'s values and Docker keeps them in the container\'s configuration (root-only files; `docker inspect` shows them to root). Keeping them out of it would take an image that reads a mounted file itself.',
    '',
    'The boot script says what failed and the next command in `/var/log/cloud-init-output.log`; `sudo /usr/local/sbin/triviapay-boot` runs it again.',
  ].join('\n'),
};

export const rollback: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.rollback',
  title: title('triviapay.rollback'),
  summary: 'Points the pool at the configuration the current one replaced (or ROLLBACK_TO) and replaces the members with the same gated rollout.',
  steps: () => [rollbackSwitchStep(), replaceStep()],
};

export const smoke: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.smoke',
  title: title('triviapay.smoke'),
  summary: 'HEALTHCHECK_URL with a cache-bypassing request answers 200 and status healthy; HEALTHCHECK_DB_URL answers 200 when set.',
  steps: smokeSteps,
};

export const secrets: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.secrets',
  title: title('triviapay.secrets'),
  summary: 'Each secret gets a new version only when its content differs (compared by SHA-256, never printed); the content travels in a `--from-json file://` file of mode 0600, removed afterwards, never in argv.',
  steps: secretsSteps,
};

export const rotateOcirToken: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.rotate-ocir-token',
  title: title('triviapay.rotate-ocir-token'),
  summary: 'A new auth token straight into Vault (never printed), a gated rollout so every instance logs in with it, then the old token deleted. With two tokens already present (OCI\'s limit) it names the one not in Vault and stops unless DELETE_TOKEN_ID names it.',
  steps: rotateSteps,
};

export const verify: Runbook<TriviapayConfig> = {
  ...base,
  name: 'triviapay.verify',
  title: title('triviapay.verify'),
  summary: 'OCI auth works (os ns get); the state bucket is versioned and holds the state; the LB backends are exactly the pool\'s instances ip:port; the backend port equals the app\'s PORT.',
  steps: verifySteps,
};
