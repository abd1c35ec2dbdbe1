// Where the gates and the smoke checks reach Gratonite: the public names, as a browser would.
import type { GratoniteConfig } from './config.ts';
import { readCa } from '../../lib/core/http-client.ts';
import type { SmokeTarget } from './smoke/checks.ts';

const hostPort = (v: string): { host: string; port: number } => {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
};

export function smokeTarget(c: GratoniteConfig): SmokeTarget {
  return {
    app: `https://${c.hosts.app}`,
    api: `https://${c.hosts.api}`,
    cdn: `https://${c.hosts.cdn}`,
    reach: { connectTo: c.check.connectTo || undefined, ca: readCa(c.check.caFile), timeoutMs: c.check.timeoutSeconds * 1000 },
    turn: { ...hostPort(c.check.turnAddress), username: c.secrets.TURN_USERNAME.reveal(), password: c.secrets.TURN_PASSWORD.reveal() },
    voice: c.livekit ? hostPort(c.check.voiceAddress) : undefined,
  };
}
