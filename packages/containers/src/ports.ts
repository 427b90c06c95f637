import net from 'node:net';
import { containerError } from './errors.ts';

/** One `-p`: a host address and port (0 = any free one) forwarded to a container port. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp';
}

function invalid(spec: string, why: string): Error {
  return containerError('TB_CONTAINER_OPTION_INVALID', `invalid -p "${spec}": ${why}`, { hint: 'use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp], e.g. -p 8080:80 or -p 127.0.0.1::80' });
}

function port(value: string, spec: string, allowZero: boolean): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535 || (!allowZero && n === 0)) throw invalid(spec, `"${value}" is not a port`);
  return n;
}

/**
 * docker's `-p` forms: `CTR`, `HOST:CTR`, `IP:HOST:CTR`, `IP::CTR` (any host port), with an
 * optional `/tcp`. UDP is refused: the forwarder only relays TCP streams.
 */
export function parsePublish(spec: string): PortBinding {
  const [addr, proto = 'tcp'] = spec.split('/');
  if (proto === 'udp' || proto === 'sctp') throw containerError('TB_CONTAINER_UNSUPPORTED', `publishing ${proto} ports is not supported (-p ${spec})`, { hint: 'only TCP ports can be published' });
  if (proto !== 'tcp' || !addr) throw invalid(spec, 'expected /tcp');
  // An IPv6 host address comes in brackets: [::1]:8080:80.
  const v6 = /^\[([^\]]+)\]:(\d*):(\d+)$/.exec(addr);
  const parts = v6 ? [v6[1]!, v6[2]!, v6[3]!] : addr.split(':');
  if (parts.length > 3) throw invalid(spec, 'too many ":"');
  const containerPort = port(parts[parts.length - 1]!, spec, false);
  const hostPort = parts.length >= 2 && parts[parts.length - 2] !== '' ? port(parts[parts.length - 2]!, spec, true) : 0;
  const hostIp = parts.length === 3 ? parts[0]! : '0.0.0.0';
  if (!net.isIP(hostIp)) throw invalid(spec, `"${hostIp}" is not an IP address`);
  return { hostIp, hostPort, containerPort, proto: 'tcp' };
}

/** `0.0.0.0:8080` (`[::1]:8080`): where a binding listens on the host. */
export function hostAddress(b: PortBinding): string {
  return `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp}:${b.hostPort}`;
}

/** `0.0.0.0:8080->80/tcp`, as docker ps prints a binding. */
export function formatBinding(b: PortBinding): string {
  return `${hostAddress(b)}->${b.containerPort}/${b.proto}`;
}

/**
 * Listens on each binding's host address and relays every connection to the container's
 * address, as docker's userland proxy does (it reaches the container from the host's loopback
 * too, which NAT rules alone do not). Resolves with the bound ports (a `0` filled in) once all
 * listen; a port already taken fails the whole set, as `docker run` fails to start.
 */
export async function forwardPorts(bindings: PortBinding[], target: string): Promise<{ bound: PortBinding[]; close(): void }> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const close = (): void => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
  };
  const bound: PortBinding[] = [];
  try {
    for (const b of bindings) {
      const server = net.createServer((client) => {
        const upstream = net.connect(b.containerPort, target);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).on('error', () => undefined);
        upstream.pipe(client).on('error', () => undefined);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(b.hostPort, b.hostIp, () => resolve());
      }).catch((e: NodeJS.ErrnoException) => {
        throw containerError('TB_CONTAINER_PORT', `cannot publish ${b.hostIp}:${b.hostPort}: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}`, {
          hint: 'choose another host port, or -p CONTAINER_PORT alone for any free one',
        });
      });
      // Later errors (a failed accept) must not take the container's supervisor down with them.
      server.on('error', () => undefined);
      bound.push({ ...b, hostPort: (server.address() as net.AddressInfo).port });
    }
  } catch (e) {
    close();
    throw e;
  }
  return { bound, close };
}
