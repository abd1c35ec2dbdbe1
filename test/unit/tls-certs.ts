// Test certificates made with openssl (installed by scripts/setup.sh): a self-signed leaf, or a
// small CA and a leaf it signed.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function selfSigned(name: string, days = 2): Promise<{ dir: string; cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  const [cert, key] = [join(dir, 'server.crt'), join(dir, 'server.key')];
  await execa('openssl', ['req', '-x509', ...EC, '-days', String(days), '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert]);
  return { dir, cert, key };
}

export async function caSigned(name: string): Promise<{ dir: string; ca: string; cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-ca-'));
  const p = (f: string) => join(dir, f);
  await execa('openssl', ['req', '-x509', ...EC, '-days', '2', '-subj', '/CN=test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  await execa('openssl', ['req', ...EC, '-subj', `/CN=${name}`, '-keyout', p('server.key'), '-out', p('server.csr')]);
  writeFileSync(p('ext.cnf'), `subjectAltName=DNS:${name}\n`);
  await execa('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', p('ext.cnf'), '-out', p('server.crt')]);
  return { dir, ca: p('ca.crt'), cert: p('server.crt'), key: p('server.key') };
}
