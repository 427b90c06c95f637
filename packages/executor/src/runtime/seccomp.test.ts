import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/root.ts';
import { loadSeccomp, loadSeccompProfile, missingSeccompWarning, ociSeccomp } from './seccomp.ts';

const profile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
  syscalls: [
    { names: ['read', 'write', 'unshare', 'clone', 'keyctl'], action: 'SCMP_ACT_ALLOW' },
    { names: ['vmsplice'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['chown'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_CHOWN'] } },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['sync_file_range2'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
    { names: ['newer'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.20' } },
    { name: 'personality', action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
  ],
};

type Spec = { architectures: string[]; syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: unknown[] }> };
const allowed = (spec: Spec, name: string): boolean => spec.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args && r.names.includes(name));
const refusal = (spec: Spec, name: string): number | undefined => spec.syscalls.find((r) => r.action === 'SCMP_ACT_ERRNO' && !r.args && r.names.includes(name))?.errnoRet;

describe('ociSeccomp', () => {
  it('selects the rules dockerd would for these capabilities, architecture and kernel', () => {
    const spec = ociSeccomp(profile, ['CAP_CHOWN'], { arch: 'amd64', kernel: '6.18.44-x' }) as Spec;
    expect(spec).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: ['SCMP_ARCH_X86_64'] });
    expect(spec.syscalls.slice(0, 3).map((s) => s.names.join())).toEqual(['read,write', 'arch_prctl', 'personality']);
    expect(spec.syscalls[2]).toEqual({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] });
    for (const n of ['mount', 'sync_file_range2', 'newer']) expect(allowed(spec, n), n).toBe(false);
    expect(refusal(spec, 'chown')).toBeUndefined();
    const admin = ociSeccomp(profile, ['CAP_SYS_ADMIN'], { arch: 'arm64', kernel: '7.1.0' }) as Spec;
    expect(admin.architectures).toEqual(['SCMP_ARCH_AARCH64']);
    for (const n of ['mount', 'sync_file_range2', 'newer', 'unshare', 'clone']) expect(allowed(admin, n), n).toBe(true);
    expect(refusal(admin, 'chown')).toBe(1);
  });

  it("adds docker's restrictions where the system profile is looser", () => {
    const spec = ociSeccomp(profile, ['CAP_CHOWN'], { arch: 'amd64', kernel: '6.18.44-x' }) as Spec;
    for (const n of ['unshare', 'keyctl', 'clone', 'vmsplice']) expect(spec.syscalls.filter((r) => r.names.includes(n)).length, n).toBeGreaterThan(0);
    expect(allowed(spec, 'unshare')).toBe(false);
    expect(refusal(spec, 'unshare')).toBe(1);
    expect(refusal(spec, 'keyctl')).toBe(1);
    expect(refusal(spec, 'process_vm_readv')).toBe(1);
    expect(refusal(spec, 'clone3')).toBe(38);
    expect(allowed(spec, 'vmsplice')).toBe(true);
    expect(refusal(spec, 'vmsplice')).toBeUndefined();
    // clone without namespace flags, EPERM with any of them.
    const clones = spec.syscalls.filter((r) => r.names.includes('clone'));
    expect(clones[0]).toEqual({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    expect(clones.slice(1).map((r) => (r.args as Array<{ value: number }>)[0]!.value).reduce((a, b) => a | b, 0)).toBe(0x7e020000);
    const admin = ociSeccomp(profile, ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], { arch: 'amd64', kernel: '6.18.44-x' }) as Spec;
    expect(refusal(admin, 'keyctl')).toBe(1);
    expect(refusal(admin, 'unshare')).toBeUndefined();
    expect(refusal(admin, 'process_vm_readv')).toBeUndefined();
    expect(allowed(admin, 'clone')).toBe(true);
  });

  it('applies a profile the user named as written, without those restrictions', () => {
    const spec = ociSeccomp(profile, ['CAP_CHOWN'], { arch: 'amd64', kernel: '6.18.44-x', dockerRules: false }) as Spec;
    expect(spec.syscalls.map((s) => s.names.join())).toEqual(['read,write,unshare,clone,keyctl', 'vmsplice', 'arch_prctl', 'personality']);
    expect(allowed(spec, 'unshare')).toBe(true);
    expect(refusal(spec, 'vmsplice')).toBe(1);
    expect(refusal(spec, 'clone3')).toBeUndefined();
  });
});

describe('loadSeccompProfile', () => {
  it('reads TBUILD_SECCOMP_PROFILE, and none for unconfined', () => {
    const t = tempDir('tbuild-seccomp-');
    try {
      const f = path.join(t.dir, 'p.json');
      fs.writeFileSync(f, JSON.stringify(profile));
      expect(loadSeccompProfile({ TBUILD_SECCOMP_PROFILE: f })).toEqual(profile);
      expect(loadSeccomp({ TBUILD_SECCOMP_PROFILE: f }, path.join(t.dir, 'absent.json'))).toEqual({ profile, system: false });
      expect(loadSeccomp({}, f)).toEqual({ profile, system: true });
      expect(loadSeccompProfile({ TBUILD_SECCOMP_PROFILE: 'unconfined' }, f)).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });

  it('refuses a missing or malformed profile the user named, with the variable in the hint', () => {
    const t = tempDir('tbuild-seccomp-');
    try {
      const bad = path.join(t.dir, 'bad.json');
      fs.writeFileSync(bad, '{"syscalls": 3}');
      expect(() => loadSeccompProfile({ TBUILD_SECCOMP_PROFILE: bad })).toThrow(/not a seccomp profile/);
      expect(() => loadSeccompProfile({ TBUILD_SECCOMP_PROFILE: path.join(t.dir, 'nope.json') })).toThrow(expect.objectContaining({ code: 'TB_EXEC_SECCOMP_PROFILE' }));
      fs.writeFileSync(bad, '{');
      expect(() => loadSeccompProfile({ TBUILD_SECCOMP_PROFILE: bad })).toThrow(/seccomp profile .*bad\.json/);
    } finally {
      t.cleanup();
    }
  });
});

describe('missingSeccompWarning', () => {
  it('warns when the system profile is missing, not when the user chose one or none', () => {
    const t = tempDir('tbuild-seccomp-');
    try {
      const present = path.join(t.dir, 'seccomp.json');
      fs.writeFileSync(present, JSON.stringify(profile));
      const absent = path.join(t.dir, 'absent.json');
      expect(missingSeccompWarning({}, present)).toBeUndefined();
      expect(missingSeccompWarning({}, absent)).toMatch(/no seccomp profile at .*absent\.json: RUN steps run without the syscall filter/);
      expect(missingSeccompWarning({ TBUILD_SECCOMP_PROFILE: 'unconfined' }, absent)).toBeUndefined();
      expect(missingSeccompWarning({ TBUILD_SECCOMP_PROFILE: present }, absent)).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});
