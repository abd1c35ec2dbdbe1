// Paths of the real servers the tests run, unpacked into the cache by scripts/fetch-test-servers.ts
// (run by setup), never installed as services on this machine.
import { join } from 'node:path';
import { toolsDir } from '../../scripts/lib/debian-package.ts';

export const caddyBin = (): string => join(toolsDir(), 'caddy/usr/bin/caddy');
export const turnserverBin = (): string => join(toolsDir(), 'coturn/usr/bin/turnserver');
