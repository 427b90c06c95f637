import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { bridgeFromEnv, ensureBridge, NET_RUN_DIR, type BridgeConfig } from './bridge.ts';
import { pidAlive } from '../runtime/pid-alive.ts';
import { hostResolvConf } from '../runtime/prepare-rootfs.ts';
import { leaseAddress, releaseAddress, type AddressLease } from './leases.ts';
import { execFileAsync } from '../exec-file.ts';

/** A network namespace on the bridge, for one RUN at a time. */
export interface NetnsLease {
  /** Path for the runtime spec's network namespace (`/run/netns/…`). */
  path: string;
  /** /etc/resolv.conf for it: the host's, without nameservers only the host's loopback reaches. */
  resolvConf: string;
  /** The bridge's own address: the build host as the step reaches it (`--add-host x:host-gateway`). */
  gateway: string;
  /** The namespace's own address on the bridge, and the bridge subnet's prefix length. */
  address: string;
  prefix: number;
  release(): void;
}

/**
 * What RUN steps ask of the default network (executor port; `BridgeNetwork` is the real one).
 * `undefined`: the bridge cannot be had here, and the step runs with no network instead.
 */
export interface RunNetwork {
  acquire(): Promise<NetnsLease | undefined>;
}

interface Netns {
  name: string;
  lease: AddressLease;
}

let sequence = 0;

/**
 * Namespaces on the bridge for one build, made as RUN steps first need them and reused by later
 * ones (BuildKit pools its CNI namespaces the same way): a RUN pays for its namespace once per
 * build slot, not once per step. Named `tbuild-<pid>-<n>` so a later tbuild can delete those of
 * a process that died (`reapStaleNetworks`).
 */
export class BridgeNetwork implements RunNetwork {
  readonly #bridge: BridgeConfig;
  readonly #idle: Netns[] = [];
  readonly #all: Netns[] = [];
  readonly #onUnavailable: ((e: BuildError) => void) | undefined;
  #ready: Promise<boolean> | undefined;
  #resolvConf: string | undefined;
  #closed = false;

  /**
   * `onUnavailable`: when the bridge cannot be set up (no iptables, not root), report it once
   * and run RUN steps without a network rather than failing the build; without it, fail.
   */
  constructor(opts: { bridge?: BridgeConfig; onUnavailable?: (e: BuildError) => void } = {}) {
    this.#bridge = opts.bridge ?? bridgeFromEnv();
    this.#onUnavailable = opts.onUnavailable;
  }

  async acquire(): Promise<NetnsLease | undefined> {
    const ready = await (this.#ready ??= ensureBridge(this.#bridge).then(
      () => true,
      (e: unknown) => {
        if (!this.#onUnavailable || !(e instanceof BuildError)) throw e;
        this.#onUnavailable(e);
        return false;
      },
    ));
    if (!ready) return undefined;
    const ns = this.#idle.pop() ?? (await this.#create());
    let released = false;
    return {
      path: `/run/netns/${ns.name}`,
      gateway: this.#bridge.gateway,
      address: ns.lease.address,
      prefix: this.#bridge.prefix,
      resolvConf: (this.#resolvConf ??= containerResolvConf(hostResolvConf())),
      release: () => {
        if (released) return;
        released = true;
        this.#idle.push(ns);
      },
    };
  }

  /** Deletes every namespace this build made (their veth pairs go with them) and frees the addresses. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = this.#all.splice(0);
    this.#idle.length = 0;
    if (!all.length) return;
    await runBatch(all.map((n) => `netns delete ${n.name}`), undefined, true).catch(() => undefined);
    for (const n of all) releaseAddress(n.lease);
  }

  async #create(): Promise<Netns> {
    const b = this.#bridge;
    const lease = leaseAddress(b);
    const name = `tbuild-${process.pid}-${++sequence}`;
    const veth = lease.veth;
    try {
      await runBatch([`netns add ${name}`, `link add ${veth} type veth peer name eth0 netns ${name}`, `link set ${veth} master ${b.name} up`]);
      await runBatch([`addr add ${lease.address}/${b.prefix} dev eth0`, 'link set eth0 up', 'link set lo up', `route add default via ${b.gateway}`], name);
    } catch (e) {
      await execFileAsync('ip', ['netns', 'delete', name]).catch(() => undefined);
      releaseAddress(lease);
      throw new BuildError({
        code: 'TB_EXEC_NETWORK_SETUP',
        message: `cannot give a RUN step a network namespace on ${b.name}: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`,
        hint: 'build with --network host or --network none',
      });
    }
    const ns = { name, lease };
    this.#all.push(ns);
    // A build cancelled while this was being made has closed already: nothing else would delete it.
    if (this.#closed) await this.close();
    return ns;
  }
}

/**
 * One `ip -batch` (in namespace `netns` when given): a spawn per namespace, not one per command.
 * `force` goes on past a failed line (deletions: one already gone must not keep the others).
 */
async function runBatch(lines: string[], netns?: string, force = false): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', [...(netns ? ['-n', netns] : []), ...(force ? ['-force'] : []), '-batch', '-'], (err, _out, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve()));
    child.stdin!.end(lines.join('\n') + '\n');
  });
}

/**
 * The host's resolv.conf for a container on the bridge: nameservers on the host's loopback
 * (systemd-resolved's 127.0.0.53, a local dnsmasq) answer nobody else, so they are dropped, and
 * with none left the container gets docker's fallback, Google's public servers.
 */
export function containerResolvConf(host: string): string {
  const loopback = /^\s*nameserver\s+(127\.\S*|::1|0:0:0:0:0:0:0:1)\s*$/;
  const lines = host.split('\n').filter((l) => l.trim() !== '' && !loopback.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return `${lines.join('\n')}\n`;
}

/**
 * Deletes namespaces and address leases of tbuild processes that no longer exist (a killed
 * build or server). Machine-wide: any tbuild cleans up after any other.
 */
export async function reapStaleNetworks(alive: (pid: number) => boolean = pidAlive): Promise<void> {
  const names = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : [];
  const dead = names.filter((n) => {
    const m = /^tbuild-(\d+)-\d+$/.exec(n);
    return m && !alive(Number(m[1]));
  });
  if (dead.length) await runBatch(dead.map((n) => `netns delete ${n}`), undefined, true).catch(() => undefined);
  const leases = path.join(NET_RUN_DIR, 'leases');
  for (const f of fs.existsSync(leases) ? fs.readdirSync(leases) : []) {
    const pid = Number(fs.readFileSync(path.join(leases, f), 'utf8').trim() || NaN);
    if (Number.isInteger(pid) && alive(pid)) continue;
    fs.rmSync(path.join(leases, f), { force: true });
  }
}
