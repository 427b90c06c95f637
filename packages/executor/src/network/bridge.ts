import fs from 'node:fs';
import { BuildError } from '@tbuild/errors';
import { execFileAsync } from '../exec-file.ts';

/**
 * The host side of RUN's default network, as dockerd's `docker0` is for BuildKit: one bridge
 * shared by every build on the machine, with NAT out through the host's routes. Containers
 * reach the outside and each other's bridge addresses, never the host's loopback.
 */
export interface BridgeConfig {
  name: string;
  /** The bridge's own address, the containers' gateway. */
  gateway: string;
  /** Prefix length of the subnet the gateway is in (a /16 here). */
  prefix: number;
}

export const DEFAULT_BRIDGE: BridgeConfig = { name: 'tbuild0', gateway: '10.89.0.1', prefix: 16 };

/**
 * The bridge builds and containers use: `TBUILD_BRIDGE_ADDRESS=GATEWAY/PREFIX` moves it off a
 * subnet the host's network already uses (as dockerd's `bip`), else 10.89.0.1/16.
 */
export function bridgeFromEnv(env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  const v = env.TBUILD_BRIDGE_ADDRESS;
  if (!v) return DEFAULT_BRIDGE;
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(v);
  const prefix = Number(m?.[2]);
  if (!m || m[1]!.split('.').some((o) => Number(o) > 255) || prefix < 8 || prefix > 30) {
    throw new BuildError({ code: 'TB_EXEC_NETWORK_SETUP', message: `TBUILD_BRIDGE_ADDRESS="${v}" is not GATEWAY/PREFIX`, hint: 'e.g. TBUILD_BRIDGE_ADDRESS=10.99.0.1/16 (a prefix of 8 to 30)' });
  }
  return { name: DEFAULT_BRIDGE.name, gateway: m[1]!, prefix };
}

/** Where leases and the setup lock live: machine-wide, as the bridge is, and gone at reboot. */
export const NET_RUN_DIR = '/run/tbuild-net';

/** The subnet's first address as a number, and how many addresses it holds. */
export function subnetRange(b: BridgeConfig): { base: number; size: number } {
  const size = 2 ** (32 - b.prefix);
  return { base: ipToInt(b.gateway) - (ipToInt(b.gateway) % size), size };
}

export function subnetOf(b: BridgeConfig): string {
  return `${intToIp(subnetRange(b).base)}/${b.prefix}`;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.');
}

/**
 * Creates the bridge, enables forwarding and adds the NAT and FORWARD rules, each only when
 * missing, under a machine-wide lock so concurrent builds neither race nor duplicate rules.
 * The FORWARD rules go first in the chain: dockerd sets the chain's policy to DROP.
 */
export async function ensureBridge(b: BridgeConfig = DEFAULT_BRIDGE): Promise<void> {
  fs.mkdirSync(NET_RUN_DIR, { recursive: true, mode: 0o700 });
  const subnet = subnetOf(b);
  const script = [
    'set -e',
    `ip link show dev ${b.name} >/dev/null 2>&1 || ip link add ${b.name} type bridge`,
    // A bridge made for another address (TBUILD_BRIDGE_ADDRESS changed) gets this one too.
    `if ! ip -4 -o addr show dev ${b.name} | grep -q " inet ${b.gateway}/${b.prefix} "; then`,
    // A route already covering the subnet would make the bridge's answers go elsewhere.
    `  other="$(ip -4 route show to match ${b.gateway} | grep -v '^default' | grep -v 'dev ${b.name} ' || true)"`,
    `  if [ -n "$other" ]; then echo "${subnet} overlaps a route of this host: $other (set TBUILD_BRIDGE_ADDRESS to another GATEWAY/PREFIX)" >&2; exit 3; fi`,
    `  ip addr add ${b.gateway}/${b.prefix} dev ${b.name}`,
    'fi',
    `ip link set ${b.name} up`,
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    `ensure() { table=$1; chain=$2; shift 2; iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null || iptables -w -t "$table" -I "$chain" 1 "$@"; }`,
    `ensure nat POSTROUTING -s ${subnet} ! -o ${b.name} -j MASQUERADE`,
    `ensure filter FORWARD -i ${b.name} -j ACCEPT`,
    `ensure filter FORWARD -o ${b.name} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  ].join('\n');
  try {
    await execFileAsync('flock', [`${NET_RUN_DIR}/setup.lock`, 'sh', '-c', script]);
  } catch (e) {
    const err = e as { code?: number | string; stderr?: string };
    const why = err.code === 'ENOENT' ? 'flock, ip or iptables is not installed' : (err.stderr ?? String(e)).trim().split('\n').slice(-2).join('; ');
    throw new BuildError({
      code: 'TB_EXEC_NETWORK_SETUP',
      message: `cannot set up the bridge network ${b.name} for RUN steps: ${why}`,
      hint: 'build with --network host (the host network) or --network none (no network); the bridge needs root, iproute2 and iptables',
    });
  }
}
