import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

// PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802/7677), computed here so ALTER ROLE
// carries a verifier and the plain password never reaches the server, its logs or pg_stat_activity.

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

function keys(password: string, salt: Buffer, iterations: number): { stored: Buffer; server: Buffer } {
  // PostgreSQL applies SASLprep; for the ASCII passwords the runbooks accept it changes nothing.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return { stored: createHash('sha256').update(hmac(salted, 'Client Key')).digest(), server: hmac(salted, 'Server Key') };
}

export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const k = keys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${k.stored.toString('base64')}:${k.server.toString('base64')}`;
}

/** Whether a verifier (pg_authid.rolpassword) was made from this password. */
export function scramMatches(password: string, verifier: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier.trim());
  if (!m) return false;
  const k = keys(password, Buffer.from(m[2] as string, 'base64'), Number(m[1]));
  const stored = Buffer.from(m[3] as string, 'base64');
  return stored.length === k.stored.length && timingSafeEqual(stored, k.stored);
}
