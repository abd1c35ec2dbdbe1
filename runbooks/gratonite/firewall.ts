// Gratonite's firewall: the nftables file (input and forward paths) and the OCI security-list rules
// that mirror it, printed for the operator.
import { renderAsset } from '../../lib/core/assets.ts';
import type { Step } from '../../lib/engine/types.ts';
import { nftablesStep } from '../../lib/steps/nftables.ts';
import type { GratoniteConfig } from './config.ts';

export function firewallRules(c: GratoniteConfig): string {
  const relay = `${c.relay.min}-${c.relay.max}`;
  return renderAsset('nftables/gratonite.nft', {
    RELAY_RANGE: relay,
    LIVEKIT_INPUT: c.livekit ? 'tcp dport { 7880, 7881 } accept\n\t\tudp dport 7882 accept' : '# LiveKit disabled: 7880, 7881, 7882 stay closed',
    LIVEKIT_FORWARD: c.livekit ? 'ct status dnat meta l4proto tcp ct original proto-dst { 7880, 7881 } accept\n\t\tct status dnat meta l4proto udp ct original proto-dst 7882 accept' : '# LiveKit disabled',
  });
}

type Proto = 'tcp' | 'udp';
const ANY = '0.0.0.0/0';

/** The security-list ingress rules matching the host firewall, SSH from the admin CIDRs included. */
export function securityListRules(c: GratoniteConfig): object[] {
  const rule = (proto: Proto, source: string, min: number, max: number, description: string) => ({
    protocol: proto === 'tcp' ? '6' : '17',
    source,
    sourceType: 'CIDR_BLOCK',
    isStateless: false,
    description,
    [proto === 'tcp' ? 'tcpOptions' : 'udpOptions']: { destinationPortRange: { min, max } },
  });
  return [
    ...c.adminCidrs.map((s) => rule('tcp', s, c.sshPort, c.sshPort, 'SSH from the admin CIDRs')),
    rule('tcp', ANY, 80, 80, 'HTTP (Caddy redirects to HTTPS; ACME HTTP-01)'),
    rule('tcp', ANY, 443, 443, 'HTTPS: app., api. (Socket.IO), cdn.'),
    rule('tcp', ANY, 3478, 3478, 'TURN/STUN over TCP'),
    rule('udp', ANY, 3478, 3478, 'TURN/STUN over UDP'),
    rule('tcp', ANY, 5349, 5349, 'TURN over TLS'),
    rule('udp', ANY, c.relay.min, c.relay.max, 'TURN relay range (coturn min-port..max-port)'),
    ...(c.livekit ? [rule('tcp', ANY, 7880, 7880, 'LiveKit HTTP/WebSocket'), rule('tcp', ANY, 7881, 7881, 'LiveKit RTC over TCP'), rule('udp', ANY, 7882, 7882, 'LiveKit RTC over UDP')] : []),
  ];
}

export function firewallSteps(): Step<GratoniteConfig>[] {
  return [
    nftablesStep({
      id: 'gratonite.firewall',
      title: 'Firewall: 80, 443, TURN (3478, 5349, relay range), LiveKit when enabled; input and forward paths',
      doc: 'Adds `/etc/nftables.d/20-gratonite.nft` to the base host\'s table: the public ports on the input path (Caddy and coturn on the host) and on the forward path (ports Docker publishes skip input), every other forwarded connection to a container dropped. SSH stays as base-host set it (admin CIDRs only). Needs base-host first.',
      file: '20-gratonite.nft',
      content: firewallRules,
      ssh: (c) => ({ port: c.sshPort, cidrs: c.adminCidrs }),
    }),
    {
      id: 'gratonite.oci-rules',
      title: 'OCI security-list rules to match (printed)',
      doc: 'Prints `rules.json` for the subnet\'s security list (SSH from ADMIN_CIDRS included, since the update replaces every ingress rule) and the command that applies it. The host firewall above is enforced either way.',
      async check({ log, config }) {
        log('rules.json: every ingress rule the security list will hold:');
        log(JSON.stringify(securityListRules(config)));
        log('apply: oci network security-list update --security-list-id <the subnet\'s security list OCID> --ingress-security-rules file://rules.json --force');
        log('it REPLACES every ingress rule of that list: add any other rule it must keep to rules.json first');
        return { done: true, reason: 'printed above; the host firewall is enforced either way' };
      },
      async apply() {},
    },
  ];
}
