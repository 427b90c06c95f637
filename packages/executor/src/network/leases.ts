import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { intToIp, ipToInt, NET_RUN_DIR, subnetRange, type BridgeConfig } from './bridge.ts';

/** An address on the bridge held by this process, and the host-side veth name that goes with it. */
export interface AddressLease {
  address: string;
  veth: string;
  file: string;
}

/**
 * Takes a free address on the bridge: a file per address under /run/tbuild-net/leases holding
 * the owner's pid, made with link(2) so it appears whole or not at all. Addresses are tried at
 * random, so concurrent builds rarely contend. A dead owner's lease stays taken until
 * `reapStaleNetworks` has deleted its namespace (and with it the veth named after the address),
 * so a name is never reused while its veth may exist.
 */
export function leaseAddress(b: BridgeConfig): AddressLease {
  const dir = path.join(NET_RUN_DIR, 'leases');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { base, size } = subnetRange(b);
  const gateway = ipToInt(b.gateway);
  const tmp = path.join(dir, `.${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(tmp, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 64; attempt++) {
      // Not the network or broadcast address, nor the gateway (wherever TBUILD_BRIDGE_ADDRESS put it).
      const n = base + 1 + crypto.randomInt(size - 2);
      if (n === gateway) continue;
      const address = intToIp(n);
      const file = path.join(dir, address);
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        continue;
      }
      // Named after the whole address: unique on the bridge even across subnets, within IFNAMSIZ.
      return { address, veth: `tbv${n.toString(16).padStart(8, '0')}`, file };
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new BuildError({ code: 'TB_EXEC_NETWORK_SETUP', message: `no free address on ${b.name} after 64 tries`, hint: 'too many RUN steps hold addresses on this machine; build with --network host or none' });
}

export function releaseAddress(lease: AddressLease): void {
  fs.rmSync(lease.file, { force: true });
}
