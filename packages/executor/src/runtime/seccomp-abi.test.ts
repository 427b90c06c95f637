import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { absentSyscalls } from './seccomp-abi.ts';
import { loadSeccomp, ociSeccomp } from './seccomp.ts';
import { DEFAULT_CAPABILITIES } from './oci-spec.ts';

// libseccomp itself (the library runc compiles filters with), driven from python3's ctypes: how it
// resolves each name on x86-64, and the BPF a filter of the given unconditional rules exports.
const PROBE = String.raw`
import ctypes, json, os, sys
lib = ctypes.CDLL('libseccomp.so.2')
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
X86_64 = 0xC000003E
req = json.load(sys.stdin)
def action(rule):
    return 0x7fff0000 if rule['action'] == 'SCMP_ACT_ALLOW' else 0x00050000 | rule.get('errnoRet', 1)
def bpf(rules):
    f = lib.seccomp_init(0x00050000 | 38)
    for rule in rules:
        for name in rule['names']:
            nr = lib.seccomp_syscall_resolve_name_arch(X86_64, name.encode())
            if nr != -1:
                lib.seccomp_rule_add_array(f, action(rule), nr, 0, None)
    fd = os.memfd_create('bpf')
    lib.seccomp_export_bpf(f, fd)
    os.lseek(fd, 0, 0)
    return os.read(fd, 1 << 20).hex()
print(json.dumps({
    'numbers': {n: lib.seccomp_syscall_resolve_name_arch(X86_64, n.encode()) for n in req['names']},
    'without': bpf(req['rules']),
    'with': bpf(req['rules'] + [{'names': req['names'], 'action': 'SCMP_ACT_ALLOW'}]),
}))
`;

describe('absentSyscalls', () => {
  it('lists, for x86-64, only names libseccomp compiles to nothing there (needs python3 and libseccomp, as runc does)', () => {
    const absent = [...absentSyscalls('amd64')];
    const loaded = loadSeccomp();
    expect(loaded, 'the system seccomp profile (golang-github-containers-common)').toBeDefined();
    const spec = ociSeccomp(loaded!.profile, DEFAULT_CAPABILITIES, { arch: 'amd64' }) as { syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: unknown[] }> };
    const rules = spec.syscalls.filter((r) => !r.args);
    const out = spawnSync('python3', ['-c', PROBE], { input: JSON.stringify({ names: absent, rules }), encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const got = JSON.parse(out.stdout) as { numbers: Record<string, number>; without: string; with: string };
    // -1 is "unknown"; a name libseccomp does not know at all is kept, for a newer libseccomp may.
    for (const n of absent) expect(got.numbers[n], n).toBeLessThan(-1);
    expect(got.without.length).toBeGreaterThan(1000);
    expect(got.with).toBe(got.without);
    for (const r of spec.syscalls) for (const n of r.names) expect(absent, n).not.toContain(n);
  });

  it('drops nothing on an architecture it has no list for', () => {
    expect(absentSyscalls('arm64').size).toBe(0);
    expect(absentSyscalls('amd64').has('stat64')).toBe(true);
    expect(absentSyscalls('amd64').has('stat')).toBe(false);
  });
});
