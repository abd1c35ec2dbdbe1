// Paths of the real servers the tests run, unpacked into the cache by scripts/fetch-test-servers.ts
// (run by setup), never installed as services on this machine.
import { homedir } from 'node:os';
import { join } from 'node:path';

const tools = () => join(process.env.RUNBOOK_CACHE_DIR ?? join(homedir(), '.cache/oci-arm-runbooks'), 'tools');
export const caddyBin = (): string => join(tools(), 'caddy/usr/bin/caddy');
export const turnserverBin = (): string => join(tools(), 'coturn/usr/bin/turnserver');
