// TEST STAND-IN, NOT THE PRODUCT: a TriviaPay world as Terraform would leave it (an instance
// configuration running image tag `tag`, a pool of `size` attached to a load balancer's backend
// set, the Vault secrets, an IAM user), written into the stand-in's state folder.
import { updateState } from './cloud-state.ts';

export interface SeedOptions {
  size: number;
  tag: string;
  port: number;
  /** Health checker of the backend set (OCI's defaults are 10000 / 3000 / 3). */
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  msPerSecond?: number;
  bootMs?: number;
  terminateMs?: number;
  workRequestMs?: number;
}

export const IDS = {
  compartment: 'ocid1.compartment.oc1..standintriviapay',
  pool: 'ocid1.instancepool.oc1.iad.standintriviapaypool',
  config: 'ocid1.instanceconfiguration.oc1.iad.standintriviapayconfiga',
  lb: 'ocid1.loadbalancer.oc1.iad.standintriviapaylb',
  subnet: 'ocid1.subnet.oc1.iad.standinprivatesubnet',
  appEnvSecret: 'ocid1.vaultsecret.oc1.iad.standinappenv',
  ocirUserSecret: 'ocid1.vaultsecret.oc1.iad.standinociruser',
  ocirTokenSecret: 'ocid1.vaultsecret.oc1.iad.standinocirtoken',
  user: 'ocid1.user.oc1..standinocirpusher',
};

export function seedCloud(root: string, o: SeedOptions): void {
  const t = new Date().toISOString();
  updateState(root, (s) => {
    s.msPerSecond = o.msPerSecond ?? s.msPerSecond;
    s.bootMs = o.bootMs ?? s.bootMs;
    s.terminateMs = o.terminateMs ?? s.terminateMs;
    s.workRequestMs = o.workRequestMs ?? s.workRequestMs;
    s.configs[IDS.config] = {
      id: IDS.config,
      compartmentId: IDS.compartment,
      displayName: 'triviapay-api',
      freeformTags: {},
      definedTags: {},
      timeCreated: t,
      instanceDetails: {
        instanceType: 'compute',
        launchDetails: {
          compartmentId: IDS.compartment,
          shape: 'VM.Standard.A1.Flex',
          shapeConfig: { ocpus: 2, memoryInGBs: 12 },
          sourceDetails: { sourceType: 'image', imageId: 'ocid1.image.oc1.iad.standin' },
          createVnicDetails: { subnetId: IDS.subnet, assignPublicIp: false },
          metadata: { user_data: 'I2Nsb3VkLWNvbmZpZwo=', triviapay_image_tag: o.tag },
          freeformTags: {},
        },
      },
    };
    s.pools[IDS.pool] = { id: IDS.pool, compartmentId: IDS.compartment, displayName: 'triviapay-api', instanceConfigurationId: IDS.config, size: o.size, freeformTags: {}, availabilityDomain: 'Uocm:US-ASHBURN-AD-1', subnetId: IDS.subnet, loadBalancers: [{ id: 'ocid1.instancepoollbattachment.oc1.iad.standin', loadBalancerId: IDS.lb, backendSetName: 'api-backend', port: o.port }], timeCreated: t };
    s.lbs[IDS.lb] = {
      id: IDS.lb,
      compartmentId: IDS.compartment,
      etag: 'standin-etag',
      backendSets: { 'api-backend': { name: 'api-backend', policy: 'ROUND_ROBIN', healthChecker: { protocol: 'HTTP', urlPath: '/health', port: o.port, returnCode: 200, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, retries: o.retries }, backends: {} } },
    };
    for (const [id, name] of [
      [IDS.appEnvSecret, 'triviapay-app-env'],
      [IDS.ocirUserSecret, 'triviapay-ocir-username'],
      [IDS.ocirTokenSecret, 'triviapay-ocir-auth-token'],
    ] as const) {
      s.secrets[id] = { id, name, compartmentId: IDS.compartment, vaultId: 'ocid1.vault.oc1.iad.standinvault', keyId: 'ocid1.key.oc1.iad.standinkey', versions: [{ number: 1, content: Buffer.from('CHANGEME').toString('base64'), timeCreated: t }], timeCreated: t };
    }
  });
}
