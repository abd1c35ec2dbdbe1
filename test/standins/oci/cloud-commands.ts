// TEST STAND-IN, NOT THE PRODUCT.
//
// The compute-management, compute, load balancer, Vault, secrets and IAM commands of the OCI CLI
// stand-in, over the shared state of cloud-state.ts. Option names, required options and
// `--wait-for-state` choices are those of oracle/oci-cli 3.89.3 (generated computemanagement_cli.py,
// compute_cli.py + compute_cli_extended.py list-vnics, loadbalancer_cli.py, vaults_cli.py with
// vaults_cli_extended.py's update-base64 rename, secrets_cli.py, identity_cli.py); the JSON shapes
// follow the models as the CLI prints them (keys sorted, kebab-case, `data` absent for an empty
// list, title-case `state` in list-instances). Simplifications: a model prints the fields the
// stand-in keeps (not every null field); instance configurations keep `instance-details` as given.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CLOUD_GROUPS } from './cloud-groups.ts';
import { CLI_VERSION, exit, pyJson, pyTime, requestId, sleep, usageError, writeErr } from './cli-io.ts';
import { type CloudState, type Instance, type LoadBalancer, healthKey, readState, updateState } from './cloud-state.ts';
import { backendSetHealth, instanceModel, instanceSummary, lbWorkRequest, poolModel, secretModel, vnicModel, wrModel, toKebab } from './cloud-models.ts';

export interface Opt {
  names: string[];
  key: string;
  flag?: boolean;
  required?: boolean;
  choices?: string[];
  multiple?: boolean;
  int?: boolean;
  bool?: boolean;
  complex?: boolean;
}
export interface CloudCmd {
  path: string;
  op: string;
  service: string;
  opts: Opt[];
}

const o = (name: string, extra: Partial<Opt> = {}): Opt => ({ names: [name], key: name.slice(2), ...extra });
const req = (name: string, extra: Partial<Opt> = {}) => o(name, { required: true, ...extra });
const WR = ['ACCEPTED', 'IN_PROGRESS', 'FAILED', 'SUCCEEDED'];
const POOL_STATES = ['PROVISIONING', 'SCALING', 'STARTING', 'STOPPING', 'TERMINATING', 'STOPPED', 'TERMINATED', 'RUNNING'];
const SECRET_STATES = ['CREATING', 'ACTIVE', 'UPDATING', 'DELETING', 'DELETED', 'SCHEDULING_DELETION', 'PENDING_DELETION', 'CANCELLING_DELETION', 'FAILED'];
const waitOpts = (states: string[]) => [o('--wait-for-state', { choices: states, multiple: true }), o('--max-wait-seconds', { int: true }), o('--wait-interval-seconds', { int: true })];
const FORCE = o('--force', { flag: true });
const LB_IDS = [req('--load-balancer-id'), req('--backend-set-name')];
const common = (opts: Opt[]) => [...opts, o('--from-json')];

export const CLOUD_COMMANDS: CloudCmd[] = [
  { path: 'compute-management instance-configuration get', op: 'get_instance_configuration', service: 'compute_management', opts: common([req('--instance-configuration-id')]) },
  { path: 'compute-management instance-configuration create', op: 'create_instance_configuration', service: 'compute_management', opts: common([req('--compartment-id'), req('--instance-details', { complex: true }), o('--defined-tags', { complex: true }), o('--display-name'), o('--freeform-tags', { complex: true })]) },
  { path: 'compute-management instance-pool get', op: 'get_instance_pool', service: 'compute_management', opts: common([req('--instance-pool-id')]) },
  {
    path: 'compute-management instance-pool update',
    op: 'update_instance_pool',
    service: 'compute_management',
    opts: common([req('--instance-pool-id'), o('--defined-tags', { complex: true }), o('--display-name'), o('--freeform-tags', { complex: true }), o('--instance-configuration-id'), o('--placement-configurations', { complex: true }), o('--size', { int: true }), o('--instance-display-name-formatter'), o('--instance-hostname-formatter'), o('--lifecycle-management', { complex: true }), o('--if-match'), FORCE, ...waitOpts(POOL_STATES)]),
  },
  {
    path: 'compute-management instance-pool list-instances',
    op: 'list_instance_pool_instances',
    service: 'compute_management',
    opts: common([req('--compartment-id'), req('--instance-pool-id'), o('--display-name'), o('--limit', { int: true }), o('--page'), o('--sort-by', { choices: ['TIMECREATED', 'DISPLAYNAME'] }), o('--sort-order', { choices: ['ASC', 'DESC'] }), o('--all', { flag: true }), o('--page-size', { int: true })]),
  },
  { path: 'compute-management instance-pool-instance detach', op: 'detach_instance_pool_instance', service: 'compute_management', opts: common([req('--instance-pool-id'), req('--instance-id'), o('--is-decrement-size', { bool: true }), o('--is-auto-terminate', { bool: true }), ...waitOpts(WR)]) },
  { path: 'compute instance get', op: 'get_instance', service: 'compute', opts: common([req('--instance-id')]) },
  { path: 'compute instance terminate', op: 'terminate_instance', service: 'compute', opts: common([req('--instance-id'), o('--if-match'), o('--preserve-boot-volume', { bool: true }), o('--preserve-data-volumes-created-at-launch', { bool: true }), o('--recycle-level', { choices: ['FULL_RECYCLE'] }), FORCE, ...waitOpts(WR)]) },
  { path: 'compute instance list-vnics', op: 'list_vnic_attachments', service: 'compute', opts: common([o('--compartment-id'), o('--availability-domain'), o('--instance-id'), o('--limit', { int: true }), o('--page'), o('--all', { flag: true }), o('--page-size', { int: true })]) },
  { path: 'lb backend list', op: 'list_backends', service: 'load_balancer', opts: common([...LB_IDS, o('--if-match'), o('--all', { flag: true })]) },
  { path: 'lb backend get', op: 'get_backend', service: 'load_balancer', opts: common([...LB_IDS, req('--backend-name'), o('--if-match')]) },
  { path: 'lb backend create', op: 'create_backend', service: 'load_balancer', opts: common([req('--ip-address'), req('--port', { int: true }), ...LB_IDS, o('--weight', { int: true }), o('--max-connections', { int: true }), o('--backup', { bool: true }), o('--drain', { bool: true }), o('--offline', { bool: true }), o('--if-match'), ...waitOpts(WR)]) },
  { path: 'lb backend update', op: 'update_backend', service: 'load_balancer', opts: common([req('--weight', { int: true }), req('--backup', { bool: true }), req('--drain', { bool: true }), req('--offline', { bool: true }), ...LB_IDS, req('--backend-name'), o('--max-connections', { int: true }), o('--if-match'), ...waitOpts(WR)]) },
  { path: 'lb backend delete', op: 'delete_backend', service: 'load_balancer', opts: common([...LB_IDS, req('--backend-name'), o('--if-match'), FORCE, ...waitOpts(WR)]) },
  { path: 'lb backend-health get', op: 'get_backend_health', service: 'load_balancer', opts: common([...LB_IDS, req('--backend-name'), o('--if-match')]) },
  { path: 'lb backend-set get', op: 'get_backend_set', service: 'load_balancer', opts: common([...LB_IDS, o('--if-match')]) },
  { path: 'lb backend-set-health get', op: 'get_backend_set_health', service: 'load_balancer', opts: common([...LB_IDS, o('--if-match')]) },
  {
    path: 'vault secret update-base64',
    op: 'update_secret',
    service: 'vault',
    opts: common([req('--secret-id'), o('--current-version-number', { int: true }), o('--defined-tags', { complex: true }), o('--description'), o('--freeform-tags', { complex: true }), o('--metadata', { complex: true }), o('--replication-config', { complex: true }), o('--rotation-config', { complex: true }), o('--secret-rules', { complex: true }), o('--secret-generation-context', { complex: true }), o('--enable-auto-generation', { bool: true }), o('--if-match'), o('--secret-content-name'), o('--secret-content-stage', { choices: ['CURRENT', 'PENDING'] }), o('--secret-content-content'), FORCE, ...waitOpts(SECRET_STATES)]),
  },
  { path: 'secrets secret-bundle get', op: 'get_secret_bundle', service: 'secrets', opts: common([req('--secret-id'), o('--version-number', { int: true }), o('--secret-version-name'), o('--stage', { choices: ['CURRENT', 'PENDING', 'LATEST', 'PREVIOUS', 'DEPRECATED'] })]) },
  { path: 'iam auth-token create', op: 'create_auth_token', service: 'identity', opts: common([req('--description'), req('--user-id')]) },
  { path: 'iam auth-token list', op: 'list_auth_tokens', service: 'identity', opts: common([req('--user-id'), o('--all', { flag: true })]) },
  { path: 'iam auth-token delete', op: 'delete_auth_token', service: 'identity', opts: common([req('--user-id'), req('--auth-token-id'), o('--if-match'), FORCE]) },
];


export interface CloudCtx {
  root: string;
  region: string;
  render(data: unknown, headers?: Record<string, unknown>): void;
  confirm(text: string): boolean;
  /** Applies an injected fault (OCI_STANDIN_FAULTS) to this command's first request. */
  fault(fail: (status: number, code: string, message: string) => never): void;
}

const HOSTS: Record<string, string> = { compute_management: 'iaas', compute: 'iaas', load_balancer: 'iaas', vault: 'vaults', secrets: 'secrets.vaults', identity: 'identity' };
const bool = (v: unknown) => ['true', '1', 'yes', 'y', 't', 'on'].includes(String(v).toLowerCase());
const newId = (kind: string, region = 'iad') => `ocid1.${kind}.oc1.${region}.${randomBytes(20).toString('hex')}`;
const nowIso = () => new Date().toISOString();

export function runCloudCommand(cmd: CloudCmd, opts: Record<string, string | string[]>, ctx: CloudCtx): void {
  const str = (k: string) => opts[k] as string | undefined;
  const usage = `oci ${cmd.path} [OPTIONS]`;
  for (const k of ['instance-pool-id', 'instance-configuration-id', 'instance-id', 'load-balancer-id', 'secret-id', 'user-id']) {
    if (str(k) !== undefined && (str(k) as string).trim() === '') usageError(usage, `Parameter --${k} cannot be whitespace or empty string`);
  }
  const fail = (status: number, code: string, message: string, method = 'GET', path = '/'): never => {
    const err = {
      client_version: CLI_VERSION,
      code,
      logging_tips: 'Please run the OCI CLI command using --debug flag to find more debug information.',
      message,
      'opc-request-id': requestId(),
      operation_name: cmd.op,
      request_endpoint: `${method} https://${HOSTS[cmd.service]}.${ctx.region}.oraclecloud.com${path}`,
      status,
      target_service: cmd.service,
      timestamp: pyTime(nowIso()),
      troubleshooting_tips: 'See [https://docs.oracle.com/iaas/Content/API/References/apierrors.htm] for more information about resolving this error. If you are unable to resolve this issue, run this CLI command with --debug option and contact Oracle support and provide them the full error message.',
    };
    writeErr(`ServiceError:\n${pyJson(err, 4)}\n`);
    return exit(1);
  };
  const notFound = (what: string): never => fail(404, 'NotAuthorizedOrNotFound', `Authorization failed or requested resource not found. (${what})`);
  if (cmd.path.endsWith(' delete') || cmd.path === 'compute instance terminate') {
    if (!opts.force && !ctx.confirm('Are you sure you want to delete this resource?')) {
      writeErr('Aborted!\n');
      exit(1);
    }
  }
  // Generated update commands with complex parameters confirm first unless --force (ctx.abort -> "Aborted!").
  const REPLACES: Record<string, string[]> = {
    'compute-management instance-pool update': ['defined-tags', 'freeform-tags', 'placement-configurations', 'lifecycle-management'],
    'vault secret update-base64': ['defined-tags', 'freeform-tags', 'metadata', 'replication-config', 'rotation-config', 'secret-rules', 'secret-generation-context'],
  };
  const replaces = REPLACES[cmd.path];
  if (replaces && !opts.force && replaces.some((k) => opts[k] !== undefined) && !ctx.confirm(`WARNING: Updates to ${replaces.join(' and ')} will replace any existing values. Are you sure you want to continue?`)) {
    writeErr('Aborted!\n');
    exit(1);
  }
  ctx.fault(fail);
  const root = ctx.root;
  const state = () => readState(root);
  const lbOf = (s: CloudState): LoadBalancer => s.lbs[str('load-balancer-id') as string] ?? notFound('load balancer');
  const setOf = (s: CloudState) => lbOf(s).backendSets[str('backend-set-name') as string] ?? fail(404, 'BackendSetNotFound', `Backend set '${str('backend-set-name')}' not found`);
  const scale = state().msPerSecond;

  /** The SDK waiter: polls at 1, 2, 4, ... s capped by --wait-interval-seconds, for at most --max-wait-seconds (exit 2 then). */
  const waitFor = (initial: unknown, initialHeaders: Record<string, unknown> | undefined, read: () => { value: unknown; state: string; headers?: Record<string, unknown> }, kind: 'work request' | 'resource') => {
    const wanted = (opts['wait-for-state'] as string[] | undefined) ?? [];
    if (!wanted.length) return ctx.render(initial, initialHeaders);
    writeErr(`Action completed. Waiting until the ${kind} has entered state: (${wanted.map((w) => `'${w}'`).join(', ')}${wanted.length === 1 ? ',' : ''})\n`);
    const maxMs = Number(str('max-wait-seconds') ?? 1200) * scale;
    const cap = Number(str('wait-interval-seconds') ?? 30);
    const start = Date.now();
    for (let delay = 1; ; delay = Math.min(delay * 2, cap)) {
      const r = read();
      if (wanted.includes(r.state)) return ctx.render(r.value, r.headers);
      if (Date.now() - start + delay * scale > maxMs) {
        writeErr(`Failed to wait until the ${kind} entered the specified state. Outputting last known resource state\n`);
        ctx.render(initial, initialHeaders);
        return exit(2);
      }
      sleep(delay * scale);
    }
  };
  const etag = () => randomBytes(16).toString('hex');

  switch (cmd.path) {
    case 'compute-management instance-configuration get': {
      const c = state().configs[str('instance-configuration-id') as string] ?? notFound('instance configuration');
      return ctx.render(configModel(c), { etag: etag() });
    }
    case 'compute-management instance-configuration create': {
      const details = parseComplex('instance-details', str('instance-details') as string) as Record<string, unknown>;
      if (details.instanceType !== 'compute') fail(400, 'InvalidParameter', 'instanceDetails.instanceType must be "compute" (keys are the API\'s camelCase names)', 'POST', '/20160918/instanceConfigurations');
      // The compute service's limit on a launch's metadata and extendedMetadata together, counted
      // as sent (user_data is base64): "Metadata size is N bytes and cannot be larger than 32000 bytes".
      const launch = (details.launchDetails ?? {}) as Record<string, unknown>;
      const size = [launch.metadata, launch.extendedMetadata].reduce<number>((n, m) => n + Object.entries((m ?? {}) as Record<string, unknown>).reduce((a, [k, v]) => a + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v)), 0), 0);
      if (size > 32_000) fail(400, 'InvalidParameter', `Metadata size is ${size} bytes and cannot be larger than 32000 bytes.`, 'POST', '/20160918/instanceConfigurations');
      const c = updateState(root, (s) => {
        const c = { id: newId('instanceconfiguration'), compartmentId: str('compartment-id') as string, displayName: str('display-name') ?? null, freeformTags: (parseComplex('freeform-tags', str('freeform-tags') ?? '{}') as Record<string, string>), definedTags: parseComplex('defined-tags', str('defined-tags') ?? '{}') as Record<string, unknown>, instanceDetails: details, timeCreated: nowIso() };
        s.configs[c.id] = c;
        return c;
      });
      return ctx.render(configModel(c), { etag: etag() });
    }
    case 'compute-management instance-pool get': {
      const s = state();
      const p = s.pools[str('instance-pool-id') as string] ?? notFound('instance pool');
      return ctx.render(poolModel(s, p), { etag: etag() });
    }
    case 'compute-management instance-pool update': {
      const id = str('instance-pool-id') as string;
      if (str('size') !== undefined && Number(str('size')) < 0) fail(400, 'InvalidParameter', 'size must be 0 or more', 'PUT', `/20160918/instancePools/${id}`);
      const p = updateState(root, (s) => {
        const p = s.pools[id] ?? notFound('instance pool');
        if (str('instance-configuration-id') !== undefined) {
          if (!s.configs[str('instance-configuration-id') as string]) notFound('instance configuration');
          p.instanceConfigurationId = str('instance-configuration-id') as string;
        }
        if (str('size') !== undefined) p.size = Number(str('size'));
        if (str('display-name') !== undefined) p.displayName = str('display-name') as string;
        if (str('freeform-tags') !== undefined) p.freeformTags = parseComplex('freeform-tags', str('freeform-tags') as string) as Record<string, string>;
        return p;
      });
      return waitFor(poolModel(state(), p), { etag: etag() }, () => {
        const s = state();
        const m = poolModel(s, s.pools[id] as typeof p);
        return { value: m, state: m['lifecycle-state'] as string, headers: { etag: etag() } };
      }, 'resource');
    }
    case 'compute-management instance-pool list-instances': {
      const s = state();
      const p = s.pools[str('instance-pool-id') as string] ?? notFound('instance pool');
      if (p.compartmentId !== str('compartment-id')) return; // another compartment holds no such pool's instances: an empty list prints nothing
      const items = Object.values(s.instances).filter((i) => i.poolId === p.id && i.state !== 'Terminated').sort((a, b) => a.timeCreated.localeCompare(b.timeCreated));
      return ctx.render(items.map((i) => instanceSummary(s, p, i)));
    }
    case 'compute-management instance-pool-instance detach': {
      const poolId = str('instance-pool-id') as string;
      const instId = str('instance-id') as string;
      const wr = updateState(root, (s) => {
        const p = s.pools[poolId] ?? notFound('instance pool');
        const i = s.instances[instId];
        if (!i || i.poolId !== p.id) fail(404, 'NotAuthorizedOrNotFound', `Instance ${instId} is not in instance pool ${poolId}`, 'POST', `/20160918/instancePools/${poolId}/actions/detachInstance`);
        const inst = i as Instance;
        inst.poolId = null;
        for (const a of p.loadBalancers) removeBackend(s, a.loadBalancerId, a.backendSetName, `${inst.ip}:${a.port}`);
        if (str('is-auto-terminate') !== undefined && bool(str('is-auto-terminate'))) {
          inst.state = 'Terminating';
          inst.nextAt = Date.now() + s.terminateMs;
        }
        if (str('is-decrement-size') === undefined || bool(str('is-decrement-size'))) p.size = Math.max(0, p.size - 1);
        const w = { id: newId('workrequest'), kind: 'compute' as const, operation: 'DetachInstancePoolInstance', compartmentId: p.compartmentId, resourceId: inst.id, timeAccepted: nowIso(), doneAt: Date.now() + s.workRequestMs };
        s.workRequests[w.id] = w;
        return w;
      });
      return waitFor(undefined, { 'opc-work-request-id': wr.id }, () => {
        const m = wrModel(state().workRequests[wr.id] ?? wr);
        return { value: m, state: m.status as string };
      }, 'work request');
    }
    case 'compute instance get': {
      const s = state();
      const i = s.instances[str('instance-id') as string] ?? notFound('instance');
      return ctx.render(instanceModel(s, i), { etag: etag() });
    }
    case 'compute instance terminate': {
      const id = str('instance-id') as string;
      const wr = updateState(root, (s) => {
        const i = s.instances[id] ?? notFound('instance');
        if (i.state !== 'Terminated' && i.state !== 'Terminating') {
          if (i.poolId) {
            const p = s.pools[i.poolId];
            for (const a of p?.loadBalancers ?? []) removeBackend(s, a.loadBalancerId, a.backendSetName, `${i.ip}:${a.port}`);
          }
          i.state = 'Terminating';
          i.nextAt = Date.now() + s.terminateMs;
        }
        const w = { id: newId('workrequest'), kind: 'compute' as const, operation: 'TerminateInstance', compartmentId: i.compartmentId, resourceId: i.id, timeAccepted: nowIso(), doneAt: Date.now() + s.terminateMs };
        s.workRequests[w.id] = w;
        return w;
      });
      return waitFor(undefined, { 'opc-work-request-id': wr.id }, () => {
        const m = wrModel(state().workRequests[wr.id] ?? wr);
        return { value: m, state: m.status as string };
      }, 'work request');
    }
    case 'compute instance list-vnics': {
      if (str('instance-id') === undefined) usageError(usage, 'Missing option(s) --instance-id.');
      const s = state();
      const i = s.instances[str('instance-id') as string] ?? notFound('instance');
      if (i.state !== 'Running') {
        writeErr('No VNICs found for this instance. Please check that the instance is in RUNNING state.\n');
        return;
      }
      return ctx.render([vnicModel(i)]);
    }
    case 'lb backend list': {
      const s = state();
      const bs = setOf(s);
      return ctx.render(Object.entries(bs.backends).map(([name, b]) => backendModel(name, b)), { etag: lbOf(s).etag });
    }
    case 'lb backend get': {
      const s = state();
      const b = setOf(s).backends[str('backend-name') as string] ?? fail(404, 'BackendNotFound', `Backend '${str('backend-name')}' not found in backend set '${str('backend-set-name')}'`);
      return ctx.render(backendModel(str('backend-name') as string, b), { etag: lbOf(s).etag });
    }
    case 'lb backend create':
    case 'lb backend update':
    case 'lb backend delete': {
      const name = cmd.path === 'lb backend create' ? `${str('ip-address')}:${str('port')}` : (str('backend-name') as string);
      const mc = str('max-connections');
      if (mc !== undefined && Number(mc) !== 0 && Number(mc) < 256) fail(400, 'InvalidParameter', 'maxConnections must be 0 or at least 256', 'PUT');
      const wr = updateState(root, (s) => {
        const lb = lbOf(s);
        const bs = setOf(s);
        if (cmd.path === 'lb backend create') {
          if (bs.backends[name]) fail(409, 'Conflict', `Backend '${name}' already exists`, 'POST');
          bs.backends[name] = { ipAddress: str('ip-address') as string, port: Number(str('port')), weight: Number(str('weight') ?? 1), backup: bool(str('backup') ?? 'false'), drain: bool(str('drain') ?? 'false'), offline: bool(str('offline') ?? 'false'), maxConnections: mc === undefined ? null : Number(mc) };
        } else if (!bs.backends[name]) fail(404, 'BackendNotFound', `Backend '${name}' not found in backend set '${bs.name}'`, cmd.path === 'lb backend update' ? 'PUT' : 'DELETE');
        else if (cmd.path === 'lb backend update') {
          const b = bs.backends[name];
          Object.assign(b, { weight: Number(str('weight')), backup: bool(str('backup')), drain: bool(str('drain')), offline: bool(str('offline')), maxConnections: mc === undefined ? null : Number(mc) });
        } else removeBackend(s, lb.id, bs.name, name);
        lb.etag = etag();
        const w = { id: newId('loadbalancerworkrequest'), kind: 'lb' as const, operation: cmd.path === 'lb backend create' ? 'CreateBackend' : cmd.path === 'lb backend update' ? 'UpdateBackend' : 'DeleteBackend', compartmentId: lb.compartmentId, loadBalancerId: lb.id, timeAccepted: nowIso(), doneAt: Date.now() + s.workRequestMs };
        s.workRequests[w.id] = w;
        return w;
      });
      return waitFor(undefined, { 'opc-work-request-id': wr.id }, () => {
        const m = lbWorkRequest(state().workRequests[wr.id] ?? wr);
        return { value: m, state: m['lifecycle-state'] as string };
      }, 'work request');
    }
    case 'lb backend-health get': {
      const s = state();
      const bs = setOf(s);
      const name = str('backend-name') as string;
      if (!bs.backends[name]) fail(404, 'BackendNotFound', `Backend '${name}' not found in backend set '${bs.name}'`);
      const h = s.health[healthKey(str('load-balancer-id') as string, bs.name, name)];
      const results = h ? ['10.0.0.7', '10.0.0.8'].map((ip) => ({ 'health-check-status': h.last, 'source-ip-address': ip, 'subnet-id': 'ocid1.subnet.oc1.iad.standinlbsubnet', timestamp: pyTime(h.at) })) : [];
      return ctx.render({ 'health-check-results': results, status: h?.status ?? 'UNKNOWN' }, { etag: lbOf(s).etag });
    }
    case 'lb backend-set get': {
      const s = state();
      const bs = setOf(s);
      const hc = bs.healthChecker;
      return ctx.render(
        {
          'backend-max-connections': null,
          backends: Object.entries(bs.backends).map(([n, b]) => backendModel(n, b)),
          'health-checker': { 'interval-in-millis': hc.intervalMs, 'is-force-plain-text': false, port: hc.port, protocol: hc.protocol, 'response-body-regex': '', retries: hc.retries, 'return-code': hc.returnCode, 'timeout-in-millis': hc.timeoutMs, 'url-path': hc.urlPath },
          'lb-cookie-session-persistence-configuration': null,
          name: bs.name,
          policy: bs.policy,
          'session-persistence-configuration': null,
          'ssl-configuration': null,
        },
        { etag: lbOf(s).etag },
      );
    }
    case 'lb backend-set-health get': {
      const s = state();
      return ctx.render(backendSetHealth(s, lbOf(s).id, setOf(s)), { etag: lbOf(s).etag });
    }
    case 'vault secret update-base64': {
      const id = str('secret-id') as string;
      const content = str('secret-content-content');
      const sec = updateState(root, (s) => {
        const sec = s.secrets[id] ?? notFound('secret');
        if (content !== undefined) {
          if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content) || content.length % 4 !== 0) fail(400, 'InvalidParameter', 'secretContent.content is not valid base64', 'PUT', `/20180608/secrets/${id}`);
          const name = str('secret-content-name');
          if (name !== undefined && sec.versions.some((v) => v.name === name)) fail(409, 'Conflict', `A secret version named ${name} already exists`, 'PUT', `/20180608/secrets/${id}`);
          sec.versions.push({ number: (sec.versions.at(-1)?.number ?? 0) + 1, ...(name === undefined ? {} : { name }), content, timeCreated: nowIso() });
        }
        return sec;
      });
      return ctx.render(secretModel(sec, 'UPDATING'), { etag: etag() });
    }
    case 'secrets secret-bundle get': {
      const s = state();
      const sec = s.secrets[str('secret-id') as string] ?? notFound('secret');
      const want = str('version-number') === undefined ? sec.versions.at(-1) : sec.versions.find((v) => v.number === Number(str('version-number')));
      if (!want) return notFound('secret version');
      const latest = sec.versions.at(-1) === want;
      return ctx.render({ metadata: null, 'secret-bundle-content': { content: want.content, 'content-type': 'BASE64' }, 'secret-id': sec.id, stages: latest ? ['CURRENT', 'LATEST'] : ['PREVIOUS'], 'time-created': pyTime(want.timeCreated), 'time-of-deletion': null, 'time-of-expiry': null, 'version-name': want.name ?? null, 'version-number': want.number }, { etag: etag() });
    }
    case 'iam auth-token create': {
      const user = str('user-id') as string;
      const t = updateState(root, (s) => {
        const active = Object.values(s.authTokens).filter((t) => t.userId === user && t.lifecycleState === 'ACTIVE');
        if (active.length >= 2) fail(400, 'LimitExceeded', `User ${user} has already reached the maximum number of auth tokens (2)`, 'POST', `/20160918/users/${user}/authTokens/`);
        // Tokens carry shell-hostile punctuation, as real ones do.
        const token = `${randomBytes(6).toString('base64url')}(;<]#.${randomBytes(4).toString('hex')}`;
        const t = { id: newId('credential', ''), userId: user, description: str('description') as string, token, lifecycleState: 'ACTIVE' as const, timeCreated: nowIso() };
        s.authTokens[t.id] = t;
        return t;
      });
      return ctx.render(authTokenModel(t, true), { etag: etag() });
    }
    case 'iam auth-token list': {
      const s = state();
      const items = Object.values(s.authTokens).filter((t) => t.userId === str('user-id') && t.lifecycleState === 'ACTIVE');
      return ctx.render(items.map((t) => authTokenModel(t, false)));
    }
    case 'iam auth-token delete': {
      updateState(root, (s) => {
        const t = s.authTokens[str('auth-token-id') as string];
        if (!t || t.userId !== str('user-id') || t.lifecycleState !== 'ACTIVE') notFound('auth token');
        (t as { lifecycleState: string }).lifecycleState = 'DELETED';
      });
      return;
    }
  }
}

/** Removing a backend ends what it serves; the pool deregisters a detached or terminated instance this way. */
export function removeBackend(s: CloudState, lbId: string, bsName: string, name: string): void {
  const bs = s.lbs[lbId]?.backendSets[bsName];
  if (bs) delete bs.backends[name];
  delete s.health[healthKey(lbId, bsName, name)];
}

function configModel(c: CloudState['configs'][string]): Record<string, unknown> {
  return { 'compartment-id': c.compartmentId, 'defined-tags': c.definedTags, 'deferred-fields': null, 'display-name': c.displayName, 'freeform-tags': c.freeformTags, id: c.id, 'instance-details': toKebab(c.instanceDetails), 'time-created': pyTime(c.timeCreated) };
}
function backendModel(name: string, b: CloudState['lbs'][string]['backendSets'][string]['backends'][string]): Record<string, unknown> {
  return { backup: b.backup, drain: b.drain, 'ip-address': b.ipAddress, 'max-connections': b.maxConnections, name, offline: b.offline, port: b.port, weight: b.weight };
}
function authTokenModel(t: CloudState['authTokens'][string], withToken: boolean): Record<string, unknown> {
  return { description: t.description, id: t.id, 'inactive-status': null, 'lifecycle-state': t.lifecycleState, 'time-created': pyTime(t.timeCreated), 'time-expires': null, token: withToken ? t.token : null, 'user-id': t.userId };
}

/** A complex-type option: inline JSON or file://PATH, as cli_util.parse_json_parameter reads it. */
export function parseComplex(name: string, text: string): unknown {
  let body = text;
  if (text.startsWith('file://')) {
    try {
      body = readFileSync(text.slice('file://'.length), 'utf8');
    } catch {
      writeErr(`Error: Unable to read file ${text.slice('file://'.length)}\n`);
      return exit(1);
    }
  }
  try {
    return JSON.parse(body) as unknown;
  } catch {
    writeErr(`Parameter '${name.replace(/-/g, '_')}' must be in JSON format.\n`);
    return exit(1);
  }
}
