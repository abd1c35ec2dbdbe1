import { createHmac } from 'node:crypto';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * A short-lived HS256 bearer token for EventfoldDB's EventStore service. `exp` is always set:
 * the server's JWT validation (jsonwebtoken's default) rejects a token without one.
 */
export function mintToken(secret: string, o: { subject?: string; ttlSeconds?: number; now?: number } = {}): string {
  const iat = Math.floor((o.now ?? Date.now()) / 1000);
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: o.subject ?? 'eventfold-tools', iat, exp: iat + (o.ttlSeconds ?? 300) })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
