// gRPC TLS for EventfoldDB (PRD 011's in-process option): the certificate and key the operator
// names are checked here, before anything reaches the host, so a swapped, expired or mismatched
// pair never restarts the server into a startup error.
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { readLocalFile } from '../../lib/config/local-file.ts';
import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Step } from '../../lib/engine/types.ts';
import type { FileSpec } from '../../lib/exec/files.ts';
import { type EventfoldConfig, TLS_DIR } from './config.ts';
import { CHECK_TLS_SERVER_NAME, CHECK_TLS_TRUST } from './tools/server-client.ts';

export const TLS_PATHS = { cert: `${TLS_DIR}/server.crt`, key: `${TLS_DIR}/server.key`, trust: `${TLS_DIR}/trust.crt` };

const readLocal = (path: string, name: string) => readLocalFile(name, path).toString('utf8');

/** The TLS files to install, after checking they form a valid, current pair for the server name. */
export function tlsFiles(tls: NonNullable<EventfoldConfig['tls']>, now = new Date()): FileSpec[] {
  const certPem = readLocal(tls.certFile, 'TLS_CERT_FILE');
  const keyPem = readLocal(tls.keyFile, 'TLS_KEY_FILE');
  const trustPem = tls.trustFile === tls.certFile ? certPem : readLocal(tls.trustFile, 'TLS_TRUST_FILE');
  const bad = (msg: string) => new RunbookError('config', msg, { hint: 'fix TLS_CERT_FILE / TLS_KEY_FILE / TLS_SERVER_NAME, then re-run; the host keeps its current certificate until then' });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw bad(`TLS_CERT_FILE ${tls.certFile} is not a PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw bad(`TLS_KEY_FILE ${tls.keyFile} is not an unencrypted PEM private key`);
  }
  if (!cert.checkPrivateKey(key)) throw bad(`TLS_KEY_FILE ${tls.keyFile} is not the key of the certificate in ${tls.certFile}`);
  if (new Date(cert.validTo) <= now) throw bad(`the certificate in ${tls.certFile} expired on ${cert.validTo}`);
  if (!cert.checkHost(tls.serverName)) throw bad(`the certificate in ${tls.certFile} is not valid for TLS_SERVER_NAME ${tls.serverName} (${cert.subjectAltName ?? cert.subject})`);
  try {
    new X509Certificate(trustPem);
  } catch {
    throw bad(`TLS_TRUST_FILE ${tls.trustFile} is not a PEM certificate`);
  }
  return [
    { path: TLS_PATHS.cert, content: certPem, mode: '0644' },
    { path: TLS_PATHS.key, content: keyPem, mode: '0640', owner: 'root', group: 'eventfold', secret: true },
    { path: TLS_PATHS.trust, content: trustPem, mode: '0644' },
  ];
}

/** Server environment lines: the server reads the first two; the host tools read the CHECK_ ones. */
export function tlsEnvLines(c: EventfoldConfig): string {
  if (!c.tls) return '# EVENTFOLD_TLS_CERT/KEY not set: plaintext gRPC (inside the VCN only)';
  return [
    `EVENTFOLD_TLS_CERT=${TLS_PATHS.cert}`,
    `EVENTFOLD_TLS_KEY=${TLS_PATHS.key}`,
    '# Read by the host tools (health, smoke, restore checks on 127.0.0.1); the server ignores them.',
    `${CHECK_TLS_TRUST}=${TLS_PATHS.trust}`,
    `${CHECK_TLS_SERVER_NAME}=${c.tls.serverName}`,
  ].join('\n');
}

/** After TLS is turned off and the server proved healthy without it, the old pair goes. */
export function tlsCleanupStep(): Step<EventfoldConfig> {
  return {
    id: 'install.tls-off',
    title: `No TLS files left in ${TLS_DIR} when TLS is off`,
    doc: `Runs after the release step has seen the server healthy, so a failed switch to plaintext still has its pair to go back to.`,
    async check({ exec, config: c }) {
      if (c.tls) return { done: true, reason: 'TLS is on' };
      const r = await exec.run(read(['test', '-e', TLS_DIR], { okCodes: [0, 1] }));
      return r.exitCode === 0 ? { done: false, reason: `TLS is off but ${TLS_DIR} remains` } : { done: true, reason: 'TLS is off and no TLS files remain' };
    },
    async apply({ exec }) {
      await exec.run(write(['rm', '-rf', '--', TLS_DIR]));
    },
  };
}
