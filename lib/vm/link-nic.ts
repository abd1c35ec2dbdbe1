// The guest side of a private link between VMs (the hub itself is test-only: test/vm/link.ts):
// each VM's address and MAC on 10.77.0.0/24, and the script that sets its link NIC up.

/** A VM's place on a link: the hub's socket and the last byte of its address. */
export interface LinkAttachment {
  link: { readonly socketPath: string };
  /** The last byte of the VM's address on the link: 10.77.0.<host>. */
  host: number;
}

/** The guest's name for the link NIC until a reboot (set on the kernel command line). */
export const LINK_IFNAME = 'link0';

export const linkAddress = (a: LinkAttachment) => `10.77.0.${a.host}`;
/** Locally administered, one per address: 52:54:00:4d:00:<host> (0x4d = 77). */
export const linkMac = (host: number) => `52:54:00:4d:00:${host.toString(16).padStart(2, '0')}`;
/** The MAC a snapshot's link NIC has; a restored VM changes it to its own in the guest. */
export const SNAPSHOT_LINK_MAC = '52:54:00:4d:01:00';

/**
 * Guest-side set-up of the link NIC (run as root with `sh -c SCRIPT - MAC ADDRESS`): gives it the
 * VM's own MAC (a restored VM carries the snapshot's), writes a systemd-networkd file that
 * matches that MAC (so the address survives a reboot, and boot never waits for the link), and
 * waits until the address is up.
 */
export const LINK_SETUP_SCRIPT = `set -eu
mac="$1"; addr="$2"
dev=$(for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$mac" ] && basename "$d"; done; true)
if [ -z "$dev" ]; then
  dev=${LINK_IFNAME}
  [ -e /sys/class/net/$dev ] || { echo "no link NIC ($dev) in this VM" >&2; exit 1; }
  ip link set dev "$dev" address "$mac"
fi
printf '%s\\n' '# The test link (10.77.0.0/24), written by the test harness' '[Match]' "MACAddress=$mac" '' '[Link]' 'RequiredForOnline=no' '' '[Network]' "Address=$addr/24" 'LinkLocalAddressing=no' 'IPv6AcceptRA=no' > /etc/systemd/network/05-test-link.network
networkctl reload
networkctl reconfigure "$dev"
i=0
until ip -4 -o addr show dev "$dev" | grep -q " $addr/24 "; do
  i=$((i + 1)); [ "$i" -le 100 ] || { echo "address $addr did not come up on $dev" >&2; ip addr show dev "$dev" >&2; exit 1; }
  sleep 0.1
done
`;

