import fs from 'node:fs';
import type { RunRequest } from './container-runtime.ts';

/** Docker's default capability set (moby `oci/caps/defaults.go`); RUN gets exactly these. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Docker's masked paths: kernel information a build has no business reading. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel order: the privileged set. */
const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Every capability tbuild itself holds (its bounding set): a container cannot be given more. */
function privilegedCapabilities(): string[] {
  try {
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (!hex) return [...DEFAULT_CAPABILITIES];
    const bits = BigInt(`0x${hex}`);
    return ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n);
  } catch {
    return [...DEFAULT_CAPABILITIES];
  }
}

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_HOSTNAME = 'buildkitsandbox';
// BuildKit's value; capped at our own hard limit, which an unprivileged-in-practice sandbox may not let runc raise.
const DEFAULT_NOFILE = 1024 * 1024;

function hostNofileHardLimit(): number {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.split(/\s{2,}/)[2];
    return hard && /^\d+$/.test(hard) ? Number(hard) : DEFAULT_NOFILE;
  } catch {
    return DEFAULT_NOFILE;
  }
}

/** Files the runtime bind-mounts read-only over the rootfs, from the bundle dir. */
export interface EtcFiles {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Docker's default devices cgroup: deny all, allow mknod of anything and use of the basic nodes. */
const DEVICE_RULES = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

/** The mounts every build container gets (Docker's defaults), before the request's own. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/**
 * The OCI runtime spec (config.json) for one RUN: pid/ipc/uts/mount namespaces, plus a network
 * namespace unless `network: host`; Docker's capabilities, masked and read-only paths, devices
 * and mounts; NOFILE rlimit; `noNewPrivileges: false` (setuid binaries such as sudo work, as in
 * docker build). `etc` are host paths of the generated /etc files, mounted read-only.
 */
export function buildOciSpec(req: RunRequest, etc: EtcFiles, seccomp?: object): object {
  const env = [...req.env];
  if (!env.some((e) => e.startsWith('PATH='))) env.push(`PATH=${DEFAULT_PATH}`);
  // RUN --security=insecure (granted by --allow security.insecure): BuildKit's privileged step.
  const caps = req.privileged ? privilegedCapabilities() : [...DEFAULT_CAPABILITIES];
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  const network = req.network ?? 'none';
  if (network === 'none') namespaces.push({ type: 'network' });
  else if (network !== 'host') namespaces.push({ type: 'network', path: network.netns });

  const mounts: OciMount[] = defaultMounts().map((m) => (req.privileged && m.destination.startsWith('/sys') ? { ...m, options: m.options.map((o) => (o === 'ro' ? 'rw' : o)) } : m));
  const etcBind = (source: string, destination: string): OciMount => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
  });
  mounts.push(etcBind(etc.hosts, '/etc/hosts'), etcBind(etc.resolvConf, '/etc/resolv.conf'), etcBind(etc.hostname, '/etc/hostname'));
  for (const m of req.mounts ?? []) {
    if (m.type === 'bind') {
      mounts.push({ destination: m.target, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'] });
    } else {
      const opts = ['nosuid', 'nodev', `mode=${(m.mode ?? 0o1777).toString(8)}`];
      if (m.sizeBytes !== undefined) opts.push(`size=${m.sizeBytes}`);
      mounts.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: opts });
    }
  }

  const resources: Record<string, unknown> = { devices: DEVICE_RULES };
  if (req.limits?.memoryBytes !== undefined) resources.memory = { limit: req.limits.memoryBytes };
  if (req.limits?.pids !== undefined) resources.pids = { limit: req.limits.pids };
  const nofile = req.limits?.nofile ?? Math.min(DEFAULT_NOFILE, hostNofileHardLimit());

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: req.terminal !== undefined,
      ...(req.terminal && req.terminal.rows > 0 && req.terminal.cols > 0 ? { consoleSize: { height: req.terminal.rows, width: req.terminal.cols } } : {}),
      user: { uid: req.user.uid, gid: req.user.gid, additionalGids: req.user.additionalGids ?? [] },
      args: req.args,
      env,
      cwd: req.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: false,
    },
    root: { path: req.rootfs, readonly: req.readonlyRootfs ?? false },
    hostname: req.hostname ?? DEFAULT_HOSTNAME,
    mounts,
    linux: {
      namespaces,
      resources: req.privileged ? { ...resources, devices: [{ allow: true, access: 'rwm' }] } : resources,
      maskedPaths: req.privileged ? [] : MASKED_PATHS,
      readonlyPaths: req.privileged ? [] : READONLY_PATHS,
      ...(seccomp && !req.privileged ? { seccomp } : {}),
    },
  };
}

/** /etc/hosts for a RUN step, byte for byte BuildKit's (executor/oci/hosts.go), `--add-host` entries last. */
export function buildHostsFile(extra: Array<{ host: string; ip: string }> = [], hostname = DEFAULT_HOSTNAME): string {
  return `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra.map((h) => `${h.ip}\t${h.host}\n`).join('')}`;
}

/** /etc/hosts for a container, as `docker run` writes it: its host name on its bridge address, else on loopback. */
export function defaultHostsFile(hostname: string, address = '127.0.0.1'): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `${address}\t${hostname}`,
    '',
  ].join('\n');
}
