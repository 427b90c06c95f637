import fs from 'node:fs';
import os from 'node:os';
import { BuildError } from '@tbuild/errors';
import { absentSyscalls } from './seccomp-abi.ts';

/**
 * Docker's default seccomp profile, in the file format docker, podman and buildah share
 * (`/usr/share/containers/seccomp.json` from Debian's golang-github-containers-common; dockerd
 * compiles the same rules in). BuildKit applies it to every RUN; so does tbuild.
 */
interface ProfileFile {
  defaultAction: string;
  defaultErrnoRet?: number;
  syscalls: Array<{
    names?: string[];
    name?: string;
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> | null;
    includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
    excludes?: { caps?: string[]; arches?: string[] };
  }>;
}

export const SYSTEM_PROFILE = '/usr/share/containers/seccomp.json';

/** Go's names for Node's architectures, as the profile's `arches` conditions use them. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
const SCMP_ARCH: Record<string, string> = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', '386': 'SCMP_ARCH_X86', arm: 'SCMP_ARCH_ARM', ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64' };

function kernelAtLeast(release: string, min: string): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

type Rule = { names: string[]; action: string; errnoRet?: number; args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> };

const EPERM = 1;
const ENOSYS = 38;
/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: the flags docker's clone rule refuses. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * Where the system profile (podman's, from containers/common) is looser than the one dockerd
 * gives BuildKit, measured against BuildKit 20.10 with a probe of each call
 * (test/differential/cases/run.ts, `sandbox-syscalls`): without CAP_SYS_ADMIN docker refuses
 * new namespaces, mounts and handles; it refuses the kernel keyring, which is not namespaced,
 * to everyone; and another process's memory and descriptors without CAP_SYS_PTRACE. Podman
 * refuses vmsplice, docker allows it.
 */
const ADMIN_ONLY = ['unshare', 'setns', 'mount', 'umount', 'umount2', 'name_to_handle_at', 'open_tree', 'mount_setattr', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick'];
const NEVER = ['keyctl', 'add_key', 'request_key'];
const PTRACE_ONLY = ['pidfd_getfd', 'process_vm_readv', 'process_vm_writev'];

function dockerRestrictions(rules: Rule[], caps: readonly string[]): Rule[] {
  const refused = [...NEVER, ...(caps.includes('CAP_SYS_ADMIN') ? [] : [...ADMIN_ONLY, 'clone', 'clone3']), ...(caps.includes('CAP_SYS_PTRACE') ? [] : PTRACE_ONLY)];
  const out = keepNames(rules, (n, r) => !refused.includes(n) && !(n === 'vmsplice' && r.action !== 'SCMP_ACT_ALLOW'));
  out.push({ names: ['vmsplice'], action: 'SCMP_ACT_ALLOW' });
  const eperm = refused.filter((n) => n !== 'clone' && n !== 'clone3');
  out.push({ names: eperm, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM });
  if (!caps.includes('CAP_SYS_ADMIN')) {
    // clone without namespace flags only; clone3's flags sit behind a pointer seccomp cannot read,
    // so it answers ENOSYS and libc falls back to clone.
    out.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    // EPERM for a namespace flag, as docker answers, not the profile's default ENOSYS.
    for (let bit = 1; bit <= CLONE_NAMESPACE_FLAGS; bit *= 2) {
      if (CLONE_NAMESPACE_FLAGS & bit) out.push({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: bit, valueTwo: bit, op: 'SCMP_CMP_MASKED_EQ' }] });
    }
    out.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return out;
}

/** The rules with only the names `keep` accepts; a rule left with none is dropped. */
function keepNames(rules: Rule[], keep: (name: string, rule: Rule) => boolean): Rule[] {
  const out: Rule[] = [];
  for (const r of rules) {
    const names = r.names.filter((n) => keep(n, r));
    if (names.length) out.push(names.length === r.names.length ? r : { ...r, names });
  }
  return out;
}

export interface SeccompSelection {
  /** Go's architecture name (`amd64`); default this machine's. */
  arch?: string;
  /** `uname -r`; default this machine's. */
  kernel?: string;
  /**
   * Docker's restrictions on top of the profile (`dockerRestrictions`): for the system profile,
   * which is podman's. A profile the user named is applied as written, as docker applies
   * `--security-opt seccomp=FILE`.
   */
  dockerRules?: boolean;
}

/**
 * The runtime spec's `linux.seccomp` for a process with capabilities `caps`: the profile's rules
 * whose conditions hold here (dockerd's selection: every included cap present, no excluded cap,
 * this architecture, a new enough kernel), then, unless `dockerRules` is false, docker's
 * restrictions where podman's profile is looser.
 */
export function ociSeccomp(profile: ProfileFile, caps: readonly string[], opts: SeccompSelection = {}): object {
  const { arch = GO_ARCH[process.arch] ?? process.arch, kernel = os.release(), dockerRules = true } = opts;
  const scmp = SCMP_ARCH[arch];
  const absent = absentSyscalls(arch);
  const syscalls: Rule[] = [];
  for (const s of profile.syscalls) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.caps?.some((c) => !caps.includes(c))) continue;
    if (exc.caps?.some((c) => caps.includes(c))) continue;
    if (inc.arches?.length && !inc.arches.includes(arch)) continue;
    if (exc.arches?.includes(arch)) continue;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    const names = s.names ?? (s.name ? [s.name] : []);
    if (!names.length) continue;
    syscalls.push({ names, action: s.action, ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}), ...(s.args?.length ? { args: s.args } : {}) });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    // The native ABI only: runc compiles the filter for every RUN, ~3.5 ms for one ABI and ~16 ms
    // with the 32-bit ones docker adds (x86, x32), whose binaries builds rarely run.
    architectures: scmp ? [scmp] : [],
    syscalls: keepNames(dockerRules ? dockerRestrictions(syscalls, caps) : syscalls, (n) => !absent.has(n)),
  };
}

/**
 * The profile RUN steps and containers get: `TBUILD_SECCOMP_PROFILE` names another file, or
 * `unconfined` for none (docker's `--security-opt seccomp=unconfined`); by default the system's.
 * Undefined when there is none to apply (`tbuild doctor` says so).
 */
export function loadSeccompProfile(env: NodeJS.ProcessEnv = process.env, systemProfile = SYSTEM_PROFILE): ProfileFile | undefined {
  return loadSeccomp(env, systemProfile)?.profile;
}

/** `loadSeccompProfile`, and whether the profile is the system's (which gets docker's rules added). */
export function loadSeccomp(env: NodeJS.ProcessEnv = process.env, systemProfile = SYSTEM_PROFILE): { profile: ProfileFile; system: boolean } | undefined {
  const chosen = env.TBUILD_SECCOMP_PROFILE;
  if (chosen === 'unconfined') return undefined;
  const file = chosen || systemProfile;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (!chosen && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw badProfile(file, (e as Error).message);
  }
  let parsed: ProfileFile;
  try {
    parsed = JSON.parse(text) as ProfileFile;
  } catch (e) {
    throw badProfile(file, (e as Error).message);
  }
  if (typeof parsed?.defaultAction !== 'string' || !Array.isArray(parsed.syscalls)) throw badProfile(file, 'not a seccomp profile (defaultAction and syscalls expected)');
  return { profile: parsed, system: !chosen };
}

function badProfile(file: string, why: string): BuildError {
  return new BuildError({ code: 'TB_EXEC_SECCOMP_PROFILE', message: `seccomp profile ${file}: ${why}`, hint: 'set TBUILD_SECCOMP_PROFILE to a docker-format profile, or to unconfined for none' });
}

/**
 * Why RUN steps would run without the filter BuildKit applies, when the cause is a missing
 * system profile rather than the user's choice (`unconfined`): said once per build, as a warning.
 * Only whether the file exists: the runtime reads it (once per process) when it runs a step.
 */
export function missingSeccompWarning(env: NodeJS.ProcessEnv = process.env, systemProfile = SYSTEM_PROFILE): string | undefined {
  if (env.TBUILD_SECCOMP_PROFILE) return undefined;
  if (fs.existsSync(systemProfile)) return undefined;
  return `no seccomp profile at ${systemProfile}: RUN steps run without the syscall filter BuildKit applies (install golang-github-containers-common, or set TBUILD_SECCOMP_PROFILE)`;
}
