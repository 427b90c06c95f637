/**
 * Names in docker's and podman's profiles that are no system call on x86-64: the 32-bit ABI's
 * (`stat64`, `setuid32`, the `_time64` calls), other architectures' (`cacheflush`, `vm86`), and
 * calls multiplexed through `socketcall` elsewhere (`send`, `recv`). libseccomp resolves each to a
 * negative pseudo-number there, and a rule on one compiles to nothing: the filter runc loads is
 * the same, byte for byte, with or without them (checked against libseccomp in
 * `seccomp-abi.test.ts`). Leaving them out spares runc their decoding and lookups at every RUN,
 * ~2 ms of a ~80 ms `runc run` here.
 */
const NOT_ON_AMD64 = new Set([
  '_llseek', '_newselect', 'arm_fadvise64_64', 'arm_sync_file_range', 'bdflush', 'breakpoint', 'cacheflush', 'chown32',
  'clock_adjtime64', 'clock_getres_time64', 'clock_gettime64', 'clock_nanosleep_time64', 'clock_settime64',
  'fadvise64_64', 'fchown32', 'fcntl64', 'fstat64', 'fstatat64', 'fstatfs64', 'ftruncate64', 'futex_time64',
  'getegid32', 'geteuid32', 'getgid32', 'getgroups32', 'getresgid32', 'getresuid32', 'getuid32', 'ipc', 'lchown32',
  'lstat64', 'mmap2', 'mq_timedreceive_time64', 'mq_timedsend_time64', 'nice', 'oldfstat', 'oldlstat', 'oldolduname',
  'oldstat', 'olduname', 'pciconfig_iobase', 'pciconfig_read', 'pciconfig_write', 'ppoll_time64', 'pselect6_time64',
  'readdir', 'recv', 'recvmmsg_time64', 'rt_sigtimedwait_time64', 's390_pci_mmio_read', 's390_pci_mmio_write',
  's390_runtime_instr', 'sched_rr_get_interval_time64', 'semtimedop_time64', 'send', 'sendfile64', 'set_tls',
  'setfsgid32', 'setfsuid32', 'setgid32', 'setgroups32', 'setregid32', 'setresgid32', 'setresuid32', 'setreuid32',
  'setuid32', 'sgetmask', 'sigaction', 'signal', 'sigpending', 'sigprocmask', 'sigreturn', 'sigsuspend', 'socketcall',
  'ssetmask', 'stat64', 'statfs64', 'stime', 'swapcontext', 'sync_file_range2', 'syscall', 'timer_gettime64',
  'timer_settime64', 'timerfd', 'timerfd_gettime64', 'timerfd_settime64', 'truncate64', 'ugetrlimit', 'umount',
  'utimensat_time64', 'vm86', 'vm86old', 'waitpid',
]);

/** Names with no system call on `arch` (Go's name), where that is known; none elsewhere. */
export function absentSyscalls(arch: string): ReadonlySet<string> {
  return arch === 'amd64' ? NOT_ON_AMD64 : new Set();
}
