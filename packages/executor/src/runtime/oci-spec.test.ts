import { describe, expect, it } from 'vitest';
import { buildOciSpec, DEFAULT_CAPABILITIES } from './oci-spec.ts';

const etc = { hosts: '/b/hosts', resolvConf: '/b/resolv.conf', hostname: '/b/hostname' };
const req = { rootfs: '/r', args: ['sh'], env: ['A=1'], cwd: '/w', user: { uid: 1, gid: 2, additionalGids: [3] } };

interface Spec {
  process: { env: string[]; capabilities: Record<string, string[]>; user: unknown; noNewPrivileges: boolean };
  hostname: string;
  mounts: { destination: string; options: string[] }[];
  linux: { namespaces: { type: string }[]; resources: { memory?: unknown; pids?: unknown }; maskedPaths: string[] };
}

describe('buildOciSpec', () => {
  it("gives RUN Docker's sandbox: own namespaces, default caps, masked paths, read-only /etc files", () => {
    const spec = buildOciSpec(req, etc) as Spec;
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(spec.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(spec.process.capabilities.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(spec.process.env).toEqual(['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    expect(spec.process.user).toEqual({ uid: 1, gid: 2, additionalGids: [3] });
    expect(spec.process.noNewPrivileges).toBe(false);
    expect(spec.hostname).toBe('buildkitsandbox');
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    const hosts = spec.mounts.find((m) => m.destination === '/etc/hosts')!;
    expect(hosts.options).toContain('ro');
  });

  it('shares the host network namespace only for network host, and applies limits', () => {
    const spec = buildOciSpec({ ...req, env: ['PATH=/x'], network: 'host', limits: { memoryBytes: 1 << 20, pids: 64 } }, etc) as Spec;
    expect(spec.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(spec.process.env).toEqual(['PATH=/x']);
    expect(spec.linux.resources.memory).toEqual({ limit: 1 << 20 });
    expect(spec.linux.resources.pids).toEqual({ limit: 64 });
  });
});
