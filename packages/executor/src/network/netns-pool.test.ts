import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, isRoot, NEEDS_ROOT } from '../../../../test/support/root.ts';
import { bridgeFromEnv, DEFAULT_BRIDGE, NET_RUN_DIR, subnetOf, type BridgeConfig } from './bridge.ts';
import { leaseAddress, releaseAddress } from './leases.ts';
import { BridgeNetwork, containerResolvConf, reapStaleNetworks } from './netns-pool.ts';

/** The pid of a process that has exited (and been waited for): nobody owns it now. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('containerResolvConf', () => {
  it('drops nameservers only the host loopback answers, keeping search and options', () => {
    expect(containerResolvConf('search corp\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n')).toBe('search corp\nnameserver 10.0.0.2\noptions edns0\n');
  });

  it("falls back to docker's public nameservers when none is left", () => {
    expect(containerResolvConf('nameserver 127.0.0.53\nnameserver ::1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(containerResolvConf('')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});

describe('bridgeFromEnv', () => {
  it('takes TBUILD_BRIDGE_ADDRESS as GATEWAY/PREFIX, and refuses anything else', () => {
    expect(bridgeFromEnv({})).toEqual(DEFAULT_BRIDGE);
    expect(bridgeFromEnv({ TBUILD_BRIDGE_ADDRESS: '10.99.0.1/24' })).toEqual({ name: 'tbuild0', gateway: '10.99.0.1', prefix: 24 });
    for (const bad of ['10.99.0.1', '10.99.0.1/7', '10.99.0.1/31', '300.1.1.1/16', 'x/16']) expect(() => bridgeFromEnv({ TBUILD_BRIDGE_ADDRESS: bad }), bad).toThrow(/TBUILD_BRIDGE_ADDRESS/);
  });
});

describe('subnetOf', () => {
  it('masks the gateway with the prefix', () => {
    expect(subnetOf({ name: 'x', gateway: '10.89.0.1', prefix: 16 })).toBe('10.89.0.0/16');
    expect(subnetOf({ name: 'x', gateway: '192.168.7.130', prefix: 25 })).toBe('192.168.7.128/25');
  });
});

describe.skipIf(!isRoot)(`address leases (${NEEDS_ROOT}: /run)`, () => {
  // A /30 has one address to give (index 2): every lease below contends for it.
  const tiny: BridgeConfig = { name: 'tbtest', gateway: '10.250.250.1', prefix: 30 };

  it('gives the one address once, and again only after the reaper freed a dead owner\'s lease', async () => {
    const first = leaseAddress(tiny);
    try {
      expect(first.address).toBe('10.250.250.2');
      expect(fs.readFileSync(first.file, 'utf8').trim()).toBe(String(process.pid));
      expect(() => leaseAddress(tiny)).toThrow(/no free address on tbtest/);
      fs.writeFileSync(first.file, `${deadPid()}\n`);
      expect(() => leaseAddress(tiny)).toThrow(/no free address on tbtest/);
      await reapStaleNetworks();
      const second = leaseAddress(tiny);
      expect(second.address).toBe('10.250.250.2');
      expect(fs.readFileSync(second.file, 'utf8').trim()).toBe(String(process.pid));
    } finally {
      releaseAddress(first);
    }
    expect(fs.readdirSync(path.join(NET_RUN_DIR, 'leases')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('never hands out the gateway, wherever TBUILD_BRIDGE_ADDRESS put it, and names the veth after the whole address', () => {
    // In 10.250.251.0/30 the gateway .2 leaves .1 as the one address to give.
    const lease = leaseAddress({ name: 'tbtest', gateway: '10.250.251.2', prefix: 30 });
    try {
      expect(lease.address).toBe('10.250.251.1');
      expect(lease.veth).toBe('tbv0afafb01');
    } finally {
      releaseAddress(lease);
    }
  });
});

describe.skipIf(!isRoot || !hasCommand('ip') || !hasCommand('iptables'))(`BridgeNetwork (${NEEDS_ROOT}, iproute2 and iptables)`, () => {
  const ours = (): string[] => (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith(`tbuild-${process.pid}-`));
  const eth0 = (nsPath: string): string => execFileSync('ip', ['-n', path.basename(nsPath), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });

  it('gives concurrent steps namespaces of their own on the bridge, reuses a released one, and deletes them all on close', async () => {
    const net = new BridgeNetwork();
    const a = (await net.acquire())!;
    const b = (await net.acquire())!;
    expect(a.path).not.toBe(b.path);
    const addrA = /inet (\S+)\/16/.exec(eth0(a.path))?.[1];
    const addrB = /inet (\S+)\/16/.exec(eth0(b.path))?.[1];
    expect(addrA).toMatch(/^10\.89\./);
    expect(addrB).toMatch(/^10\.89\./);
    expect(addrA).not.toBe(addrB);
    expect(execFileSync('ip', ['-n', path.basename(a.path), 'route', 'show', 'default'], { encoding: 'utf8' })).toContain('via 10.89.0.1');
    a.release();
    const c = (await net.acquire())!;
    expect(c.path).toBe(a.path);
    expect(ours()).toHaveLength(2);
    await net.close();
    expect(ours()).toEqual([]);
    expect(fs.readdirSync(path.join(NET_RUN_DIR, 'leases'))).not.toContain(addrA);
    expect(fs.readdirSync(path.join(NET_RUN_DIR, 'leases'))).not.toContain(addrB);
  });

  it('adds another address to the bridge when TBUILD_BRIDGE_ADDRESS moves it, and hands out leases there', async () => {
    const moved: BridgeConfig = { name: DEFAULT_BRIDGE.name, gateway: '10.253.7.1', prefix: 24 };
    const net = new BridgeNetwork({ bridge: moved });
    try {
      const lease = (await net.acquire())!;
      expect(lease.address).toMatch(/^10\.253\.7\.\d+$/);
      expect(lease.gateway).toBe('10.253.7.1');
      expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', DEFAULT_BRIDGE.name], { encoding: 'utf8' })).toContain('inet 10.253.7.1/24');
      expect(execFileSync('ip', ['-n', path.basename(lease.path), 'route', 'show', 'default'], { encoding: 'utf8' })).toContain('via 10.253.7.1');
    } finally {
      await net.close();
      execFileSync('ip', ['addr', 'del', '10.253.7.1/24', 'dev', DEFAULT_BRIDGE.name]);
    }
  });

  it('refuses an address whose subnet a route of the host already covers, naming TBUILD_BRIDGE_ADDRESS', async () => {
    execFileSync('ip', ['route', 'add', '10.254.9.0/24', 'dev', 'lo']);
    try {
      await expect(new BridgeNetwork({ bridge: { name: DEFAULT_BRIDGE.name, gateway: '10.254.9.1', prefix: 24 } }).acquire()).rejects.toThrow(/10\.254\.9\.0\/24 overlaps a route of this host.*TBUILD_BRIDGE_ADDRESS/);
    } finally {
      execFileSync('ip', ['route', 'del', '10.254.9.0/24', 'dev', 'lo']);
    }
  });

  it('reports a bridge it cannot set up once and gives no namespace, or fails without a reporter', async () => {
    // Linux refuses interface names over 15 bytes: the setup script fails as it would without iptables.
    const bad: BridgeConfig = { name: 'tbuild-name-too-long', gateway: '10.251.0.1', prefix: 16 };
    const reports: string[] = [];
    const net = new BridgeNetwork({ bridge: bad, onUnavailable: (e) => reports.push(e.diagnostics[0]!.code) });
    expect(await net.acquire()).toBeUndefined();
    expect(await net.acquire()).toBeUndefined();
    expect(reports).toEqual(['TB_EXEC_NETWORK_SETUP']);
    await expect(new BridgeNetwork({ bridge: bad }).acquire()).rejects.toThrow(/cannot set up the bridge network tbuild-name-too-long/);
  });

  it("deletes a dead process's namespaces and leases, and leaves a live one's", async () => {
    const dead = deadPid();
    execFileSync('ip', ['netns', 'add', `tbuild-${dead}-1`]);
    fs.mkdirSync(path.join(NET_RUN_DIR, 'leases'), { recursive: true });
    const deadLease = path.join(NET_RUN_DIR, 'leases', '10.89.255.254');
    fs.writeFileSync(deadLease, `${dead}\n`);
    const net = new BridgeNetwork();
    const live = (await net.acquire())!;
    try {
      await reapStaleNetworks();
      const left = fs.readdirSync('/run/netns');
      expect(left).not.toContain(`tbuild-${dead}-1`);
      expect(left).toContain(path.basename(live.path));
      expect(fs.existsSync(deadLease)).toBe(false);
    } finally {
      await net.close();
    }
  });
});
