import { isIP } from 'node:net';
import path from 'node:path';
import type { ExtraHost } from '@tbuild/planner';
import type { SecretSource } from './build.ts';

/** How a caller reports a bad value: the CLI as a usage error, bake as an invalid bake file. */
export type Refuse = (message: string, hint: string) => Error;

/** `id=ID,src=FILE` or `id=ID,env=VAR` (bare `id=ID`: the variable named ID), as buildx's `--secret` and bake's `secret`. */
export function parseSecretSpecs(values: string[], cwd: string, refuse: Refuse): SecretSource[] {
  return values.map((v) => {
    const f = new Map(v.split(',').map((p) => [p.slice(0, p.indexOf('=') < 0 ? p.length : p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
    const id = f.get('id');
    if (!id) throw refuse(`invalid secret "${v}"`, 'expected id=ID,src=FILE or id=ID,env=VAR');
    const src = f.get('src') ?? f.get('source');
    const env = f.get('env');
    return { id, src: src ? path.resolve(cwd, src) : undefined, env: env ?? (src ? undefined : id) };
  });
}

/** `ID[=SOCKET]`, as buildx's `--ssh`; a bare ID forwards $SSH_AUTH_SOCK. */
export function parseSshSpecs(values: string[], cwd: string, env: NodeJS.ProcessEnv, refuse: Refuse): Array<{ id: string; socket: string }> {
  return values.map((s) => {
    const eq = s.indexOf('=');
    const id = eq < 0 ? s : s.slice(0, eq);
    const socket = eq < 0 ? env.SSH_AUTH_SOCK : s.slice(eq + 1);
    if (!socket) throw refuse(`ssh ${s}: no socket`, 'set SSH_AUTH_SOCK or give ID=/path/to/agent.sock');
    return { id, socket: path.resolve(cwd, socket) };
  });
}

export const ENTITLEMENTS = ['network.host', 'security.insecure'];

/** `--allow a,b` and repeated `--allow`, as buildx takes them (bake: `entitlements`). */
export function parseEntitlements(values: string[], refuse: Refuse): string[] {
  const out = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const v of out) {
    if (!ENTITLEMENTS.includes(v)) throw refuse(`unknown entitlement "${v}"`, `use ${ENTITLEMENTS.join(' or ')}`);
  }
  return out;
}

/** `HOST:IP` or `HOST=IP`, as buildx's `--add-host` takes it: the host is up to the first separator, so IPv6 addresses keep their colons. */
export function parseAddHost(v: string, refuse: Refuse): ExtraHost {
  const at = v.search(/[:=]/);
  return checkedHost(at > 0 ? v.slice(0, at) : '', at > 0 ? v.slice(at + 1) : '', `--add-host "${v}"`, refuse);
}

/** Bake's `extra-hosts`, a map of host to IP. */
export function parseExtraHosts(hosts: Record<string, string>, refuse: Refuse): Array<ExtraHost> {
  return Object.entries(hosts).map(([host, ip]) => checkedHost(host, String(ip), `extra-hosts entry "${host}": "${ip}"`, refuse));
}

function checkedHost(host: string, rawIp: string, shown: string, refuse: Refuse): ExtraHost {
  const ip = rawIp.replace(/^\[(.*)\]$/, '$1');
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(host) || !(ip === 'host-gateway' || isIP(ip))) {
    throw refuse(`invalid ${shown}`, 'expected HOST:IP, e.g. registry.local:10.0.0.5 or host.docker.internal:host-gateway');
  }
  return { host, ip };
}
