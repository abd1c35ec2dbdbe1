// TEST STAND-IN, NOT THE PRODUCT: the command groups of cloud-commands.ts, kept apart so the OCI
// CLI stand-in loads those commands only when a call names one (Object Storage calls start faster).
export const CLOUD_GROUPS: Record<string, string[]> = {
  '': ['compute-management', 'compute', 'lb', 'vault', 'secrets', 'iam'],
  'compute-management': ['instance-configuration', 'instance-pool', 'instance-pool-instance'],
  'compute-management instance-configuration': ['get', 'create'],
  'compute-management instance-pool': ['get', 'update', 'list-instances'],
  'compute-management instance-pool-instance': ['detach'],
  compute: ['instance'],
  'compute instance': ['get', 'terminate', 'list-vnics'],
  lb: ['backend', 'backend-health', 'backend-set', 'backend-set-health'],
  'lb backend': ['list', 'get', 'create', 'update', 'delete'],
  'lb backend-health': ['get'],
  'lb backend-set': ['get'],
  'lb backend-set-health': ['get'],
  vault: ['secret'],
  'vault secret': ['update-base64'],
  secrets: ['secret-bundle'],
  'secrets secret-bundle': ['get'],
  iam: ['auth-token'],
  'iam auth-token': ['create', 'list', 'delete'],
};
