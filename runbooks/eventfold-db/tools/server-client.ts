// How the host tools reach the local server: the same settings the server runs with, read from
// its environment file, so health, smoke and restore checks keep working once TLS or bearer
// auth is turned on. Nothing secret goes on a command line: the tools read the file as root.
import { existsSync, readFileSync } from 'node:fs';
import { readEnvFile } from '../../../lib/config/env-file.ts';
import type { ClientOptions } from '../protocol/client.ts';
import { mintToken } from '../protocol/jwt.ts';

/** Lines of the server's env file that only the host tools read (written by ../tls.ts). */
export const CHECK_TLS_TRUST = 'EVENTFOLD_CHECK_TLS_TRUST';
export const CHECK_TLS_SERVER_NAME = 'EVENTFOLD_CHECK_TLS_SERVER_NAME';

export function serverClientOptions(envPath: string, deadlineMs: number, now = Date.now()): ClientOptions {
  const o: ClientOptions = { deadlineMs };
  if (!existsSync(envPath)) return o;
  const e = readEnvFile(envPath);
  const get = (k: string) => e.get(k)?.value ?? '';
  const secret = get('EVENTFOLD_JWT_SECRET');
  if (secret) o.token = mintToken(secret, { now });
  const cert = get('EVENTFOLD_TLS_CERT');
  if (cert) {
    const serverName = get(CHECK_TLS_SERVER_NAME);
    if (!serverName) throw new Error(`${envPath}: EVENTFOLD_TLS_CERT is set but ${CHECK_TLS_SERVER_NAME} is not; re-run the eventfold-db runbook`);
    o.tls = { ca: readFileSync(get(CHECK_TLS_TRUST) || cert), serverName };
  }
  return o;
}
