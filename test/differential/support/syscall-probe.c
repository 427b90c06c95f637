#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Probe of the seccomp filter for the differential case sandbox-syscalls (cases/run.ts). Calls
   each syscall with arguments the kernel rejects and prints the errno: a seccomp filter answers
   before the kernel looks at them (EPERM or ENOSYS), the kernel with EINVAL, EFAULT...
   Left out: calls modern docker treats differently from 20.10 (docs/differences.md). */
#define P(name, ...) do { errno = 0; long r = syscall(__VA_ARGS__); printf("%-20s %s\n", name, r == -1 ? strerrorname_np(errno) : "ok"); } while (0)
int main(void) {
  P("unshare", SYS_unshare, -1L);
  P("setns", SYS_setns, -1L, 0L);
  P("mount", SYS_mount, 0L, 0L, 0L, 0L, 0L);
  P("umount2", SYS_umount2, 0L, -1L);
  P("pivot_root", SYS_pivot_root, 0L, 0L);
  P("keyctl", SYS_keyctl, -1L, 0L, 0L, 0L, 0L);
  P("add_key", SYS_add_key, 0L, 0L, 0L, 0L, 0L);
  P("request_key", SYS_request_key, 0L, 0L, 0L, 0L);
  P("ptrace", SYS_ptrace, -1L, 0L, 0L, 0L);
  P("bpf", SYS_bpf, -1L, 0L, 0L);
  P("perf_event_open", SYS_perf_event_open, 0L, 0L, 0L, 0L, 0L);
  P("userfaultfd", SYS_userfaultfd, -1L);
  P("clone3", SYS_clone3, 0L, 0L);
  P("open_by_handle_at", SYS_open_by_handle_at, -1L, 0L, 0L);
  P("name_to_handle_at", SYS_name_to_handle_at, -1L, 0L, 0L, 0L, 0L);
  P("syslog", SYS_syslog, -1L, 0L, 0L);
  P("quotactl", SYS_quotactl, 0L, 0L, 0L, 0L);
  P("kcmp", SYS_kcmp, -1L, -1L, -1L, 0L, 0L);
  P("process_vm_readv", SYS_process_vm_readv, -1L, 0L, 0L, 0L, 0L, -1L);
  P("fanotify_init", SYS_fanotify_init, -1L, -1L);
  P("lookup_dcookie", SYS_lookup_dcookie, 0L, 0L, 0L);
  P("move_mount", SYS_move_mount, -1L, 0L, -1L, 0L, -1L);
  P("fsopen", SYS_fsopen, 0L, -1L);
  P("open_tree", SYS_open_tree, -1L, 0L, -1L);
  P("mount_setattr", SYS_mount_setattr, -1L, 0L, -1L, 0L, 0L);
  P("sethostname", SYS_sethostname, 0L, -1L);
  P("setdomainname", SYS_setdomainname, 0L, -1L);
  P("chroot", SYS_chroot, 0L);
  P("acct", SYS_acct, 0L);
  P("swapon", SYS_swapon, 0L, 0L);
  P("vmsplice", SYS_vmsplice, -1L, 0L, 0L, 0L);
  P("personality-query", SYS_personality, 0xffffffffL);
  P("personality-set", SYS_personality, 0x0008L);
  P("socket-packet", SYS_socket, 17L, 3L, 0L);
  P("socket-netlink-audit", SYS_socket, 16L, 3L, 9L);
  P("move_pages", SYS_move_pages, -1L, 0L, 0L, 0L, 0L, 0L);
  P("migrate_pages", SYS_migrate_pages, -1L, 0L, 0L, 0L);
  P("clock_settime", SYS_clock_settime, -1L, 0L);
  P("kexec_load", SYS_kexec_load, 0L, 0L, 0L, -1L);
  P("init_module", SYS_init_module, 0L, 0L, 0L);
  P("iopl", SYS_iopl, 99L);
  P("pidfd_getfd", SYS_pidfd_getfd, -1L, -1L, 0L);
  P("process_madvise", SYS_process_madvise, -1L, 0L, 0L, 0L, 0L);
  P("memfd_secret", 447, -1L);
  P("landlock_create_ruleset", 444, 0L, 0L, -1L);
  P("membarrier", SYS_membarrier, -1L, 0L, 0L);
  P("clone-newuser", SYS_clone, 0x10000000L | 0x200L, 0L, 0L, 0L, 0L);
  return 0;
}
