// tbuild-sys: the sys helper (src/snapshot/sys-helper.ts) as a program of its own. It answers
// mount(2), umount2(2) and utimensat(2) requests, and starts `runc run` for RUNs, the same as
// the python3 script there, which is used where this is not built. It starts in ~1 ms where
// python3 takes ~60-150 ms here, so even a build's first mount goes through it instead of an
// exec of mount(8) and umount(8) (~25 and ~40 ms on this machine).
//
// Requests on stdin: u32 little-endian length, then that many bytes of NUL-terminated fields:
//   id op args...
//   mount   source target fstype data cwd     (cwd "" means /)
//   umount  target detach                     (detach "1": MNT_DETACH)
//   utimens path atimeNs mtimeNs              (never follows a final symlink)
//   mtimes  [path mtimeNs]...                 (keeps each atime; stops at the first failure)
//   spawn   n env[0..n) argv...               (stdin /dev/null; stdout, stderr pipes kept open;
//                                              env: NAME=value set over this process's environment)
//   release pid                               (closes those pipes once tbuild has opened them)
//   flock   pid fd                            (LOCK_EX|LOCK_NB on process pid's descriptor fd)
//   copy    max keep [src dest mode uid gid]...  (small regular files, as copy-pool.ts's copySmall;
//                                              uid/gid -1: the source's; keep "1": also xattrs and
//                                              the source's mtime to the nanosecond)
// Replies on stdout, one line each:
//   ready FD                        once, FD a pipe this process holds (tbuild's /proc probe)
//   ID ok | ID ok PID OUTFD ERRFD   (spawn) | ID err ERRNAME message
//   ID copied ITEM...               (copy) one per file: SIZE,UID,GID,MTIMEMS[,DEV,INO] (DEV,INO
//                                   when it has other links), - when it is not a small regular
//                                   file, ! when it failed (tbuild copies it itself, and so
//                                   reports the error as for any file)
//   exit PID code N | exit PID signal N      when a spawned program ends, after its spawn's reply
// It exits when stdin closes. ^C reaches the whole process group, and tbuild cleans up through
// this process, so SIGINT is ignored here; spawned programs get every signal's default back.
//
// Built by packages/tbuild/scripts/bundle.mjs where a C compiler is.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int wake_r, wake_w;

struct held { pid_t pid; int out, err; };
static struct held *held;
static size_t n_held, cap_held;

// All of `n` bytes; -1 on an error, or on a write that took none.
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void put(const char *s, size_t n) {
  if (write_all(1, s, n)) _exit(1); // tbuild is gone
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  put(line, (size_t)n);
}

static void fail(const char *id, int e) {
  const char *name = strerrorname_np(e);
  char num[16];
  if (!name) {
    snprintf(num, sizeof num, "%d", e);
    name = num;
  }
  reply("%s err %s %s", id, name, strerror(e));
}

static int parse_ns(const char *s, struct timespec *ts) {
  char *end;
  errno = 0;
  long long ns = strtoll(s, &end, 10);
  if (errno || *s == 0 || *end) return -1;
  ts->tv_sec = ns / 1000000000LL;
  ts->tv_nsec = ns % 1000000000LL;
  if (ts->tv_nsec < 0) {
    ts->tv_nsec += 1000000000LL;
    ts->tv_sec -= 1;
  }
  return 0;
}

static int set_mtime(const char *path, const char *mtime, const struct timespec *atime) {
  struct timespec ts[2];
  if (parse_ns(mtime, &ts[1])) return EINVAL;
  if (atime) ts[0] = *atime;
  else {
    struct stat st;
    if (lstat(path, &st)) return errno;
    ts[0] = st.st_atim;
  }
  return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) ? errno : 0;
}

// flock(2) on a descriptor of tbuild's, duplicated with pidfd_getfd(2): the lock belongs to
// tbuild's open file, as when flock(1) is handed that descriptor, without tbuild forking its
// large process to exec flock(1). Closing the duplicate keeps the lock. Never waits: a lock
// held elsewhere is EWOULDBLOCK, and tbuild waits in flock(1) instead.
static int lock_fd(pid_t pid, int target) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) return errno;
  int fd = (int)syscall(SYS_pidfd_getfd, pfd, target, 0);
  int e = fd < 0 ? errno : 0;
  close(pfd);
  if (e) return e;
  if (flock(fd, LOCK_EX | LOCK_NB)) e = errno;
  close(fd);
  return e;
#else
  (void)pid;
  (void)target;
  return ENOSYS;
#endif
}

// environ with `add` (n NAME=value entries) set over it; the array alone is malloc'd.
static char **environ_with(char **add, int n) {
  size_t count = 0;
  while (environ[count]) count++;
  char **env = malloc((count + n + 1) * sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < count; i++) {
    int replaced = 0;
    for (int j = 0; j < n && !replaced; j++) {
      const char *eq = strchr(add[j], '=');
      replaced = eq && strncmp(environ[i], add[j], (size_t)(eq - add[j]) + 1) == 0;
    }
    if (!replaced) env[k++] = environ[i];
  }
  for (int j = 0; j < n; j++) env[k++] = add[j];
  env[k] = NULL;
  return env;
}

static int spawn(char **argv, char **envp, pid_t *pid, int *out, int *err) {
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC)) return errno;
  if (pipe2(e, O_CLOEXEC)) {
    int r = errno;
    close(o[0]);
    close(o[1]);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  posix_spawn_file_actions_adddup2(&fa, e[1], 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int r = posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(o[1]);
  close(e[1]);
  if (r) {
    close(o[0]);
    close(e[0]);
    return r;
  }
  *out = o[0];
  *err = e[0];
  return 0;
}

// A reply longer than reply()'s line: grown as needed, written whole.
struct out { char *p; size_t n, cap; };

static void out_add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(struct out *o, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p ? o->p + o->n : NULL, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < o->cap - o->n) {
      o->n += (size_t)n;
      return;
    }
    o->cap = (o->cap + (size_t)n) * 2;
    o->p = realloc(o->p, o->cap);
    if (!o->p) _exit(1);
  }
}

// The times a copy gets are those tbuild's own copy gives (copy-pool.ts), to the nanosecond, so
// that a file reads the same whichever of the two wrote it. Node.js reads a time as milliseconds
// in a double, and libuv (1.46, Node.js 20) sets one from seconds in a double, cut to the
// microsecond: the same double arithmetic here gives the same result.
static double js_ms(struct timespec t) { return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6; }

static long long js_floor(double x) {
  long long t = (long long)x;
  return (double)t > x ? t - 1 : t;
}

static struct timespec uv_time(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  ts.tv_nsec -= ts.tv_nsec % 1000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000L;
    ts.tv_sec -= 1;
  }
  return ts;
}

// cutMtimeMs: the millisecond, cut; a double that reads a whole second may be a time just
// before it, rounded up, and the exact time decides.
static long long cut_mtime_ms(struct timespec t) {
  double ms = js_ms(t);
  long long cut = js_floor(ms);
  if ((double)cut == ms && cut % 1000 == 0) cut = ((long long)t.tv_sec * 1000000000LL + t.tv_nsec) / 1000000LL;
  return cut;
}

// As Node.js's readFileSync reads a descriptor: `size` bytes when the stat gives a size (a file
// grown since is cut there), else until the end.
static int read_file(int fd, size_t size, char **data, size_t *cap, size_t *len) {
  *len = 0;
  for (;;) {
    if (*len == *cap) {
      *cap = *cap ? *cap * 2 : 1 << 16;
      *data = realloc(*data, *cap);
      if (!*data) _exit(1);
    }
    size_t want = size ? size - *len : *cap - *len;
    if (size && want > *cap - *len) want = *cap - *len;
    ssize_t r = read(fd, *data + *len, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    *len += (size_t)r;
    if (r == 0 || (size && *len == size)) return 0;
  }
}

// Every xattr of `from` onto `to`; a filesystem without them at either end copies none.
static int copy_xattrs(int from, int to) {
  static char *names, *value;
  static size_t names_cap, value_cap;
  ssize_t n = flistxattr(from, NULL, 0);
  if (n < 0) return errno == ENOTSUP ? 0 : -1;
  if (n == 0) return 0;
  if ((size_t)n > names_cap) {
    names_cap = (size_t)n;
    names = realloc(names, names_cap);
    if (!names) _exit(1);
  }
  n = flistxattr(from, names, names_cap);
  if (n < 0) return -1;
  for (char *name = names; name < names + n; name += strlen(name) + 1) {
    ssize_t v = fgetxattr(from, name, NULL, 0);
    if (v < 0 && errno == ENODATA) continue;
    if (v < 0) return -1;
    if ((size_t)v + 1 > value_cap) {
      value_cap = (size_t)v + 1;
      value = realloc(value, value_cap);
      if (!value) _exit(1);
    }
    v = fgetxattr(from, name, value, value_cap);
    if (v < 0) return -1;
    if (fsetxattr(to, name, value, (size_t)v, 0) && errno != ENOTSUP) return -1;
  }
  return 0;
}

// One small regular file, as copySmall and writeOne copy it: the source read whole from one
// descriptor (whose stat decides), written through another that takes the owner, the mode
// (chmod after a chown, which clears setuid), then with `keep` the xattrs, then the times.
// The destination never existed or was removed by tbuild: a symlink there now is refused.
static void copy_one(char **job, size_t max, int keep, struct out *o) {
  static char *data;
  static size_t cap;
  size_t len;
  long uid = strtol(job[3], NULL, 10), gid = strtol(job[4], NULL, 10);
  mode_t mode = (mode_t)strtoul(job[2], NULL, 10);
  int from = open(job[0], O_RDONLY | O_NONBLOCK | O_CLOEXEC), to = -1;
  struct stat st, made;
  const char *item = "!";
  if (from < 0 || fstat(from, &st)) goto done;
  item = "-";
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) goto done;
  item = "!";
  if (read_file(from, (size_t)st.st_size, &data, &cap, &len)) goto done;
  uid_t u = uid < 0 ? st.st_uid : (uid_t)uid;
  gid_t g = gid < 0 ? st.st_gid : (gid_t)gid;
  to = open(job[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777);
  if (to < 0 || write_all(to, data, len) || fstat(to, &made)) goto done;
  int chowned = made.st_uid != u || made.st_gid != g;
  if (chowned && fchown(to, u, g)) goto done;
  if ((chowned || (made.st_mode & 07777) != mode) && fchmod(to, mode)) goto done;
  if (keep && copy_xattrs(from, to)) goto done;
  long long mtime_ms = cut_mtime_ms(st.st_mtim);
  double atime_ms = (double)js_floor(js_ms(st.st_atim) + 0.5); // Math.round, as Node.js's Stats.atime
  struct timespec ts[2] = {uv_time(atime_ms / 1000.0), uv_time((double)mtime_ms / 1000.0)};
  if (keep && st.st_mtim.tv_nsec % 1000000 != 0) ts[1] = st.st_mtim;
  if (futimens(to, ts)) goto done;
  if (close(to)) {
    to = -1;
    goto done;
  }
  to = -1;
  out_add(o, " %zu,%u,%u,%lld", len, (unsigned)u, (unsigned)g, mtime_ms);
  if (st.st_nlink > 1) out_add(o, ",%llu,%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  item = NULL;
done:
  if (from >= 0) close(from);
  if (to >= 0) close(to);
  if (item) out_add(o, " %s", item);
}

static void copy_files(const char *id, char **f, int n) {
  static struct out o;
  o.n = 0;
  out_add(&o, "%s copied", id);
  size_t max = (size_t)strtoull(f[0], NULL, 10);
  int keep = strcmp(f[1], "1") == 0;
  for (int i = 2; i + 5 <= n; i += 5) copy_one(f + i, max, keep, &o);
  out_add(&o, "\n");
  put(o.p, o.n);
}

static void handle(char **f, int n) {
  if (n < 2) return;
  const char *id = f[0], *op = f[1];
  int e = 0, nenv;
  if (strcmp(op, "mount") == 0 && n == 7) {
    // Relative paths in the data resolve in cwd; back to / after, so that programs started
    // later never inherit a directory since removed.
    if (chdir(*f[6] ? f[6] : "/")) e = errno;
    else if (mount(f[2], f[3], f[4], 0, f[5])) e = errno;
    if (chdir("/")) e = e ? e : errno;
  } else if (strcmp(op, "umount") == 0 && n == 4) {
    if (umount2(f[2], strcmp(f[3], "1") == 0 ? MNT_DETACH : 0)) e = errno;
  } else if (strcmp(op, "utimens") == 0 && n == 5) {
    struct timespec atime;
    e = parse_ns(f[3], &atime) ? EINVAL : set_mtime(f[2], f[4], &atime);
  } else if (strcmp(op, "mtimes") == 0 && n % 2 == 0) {
    for (int i = 2; i < n && !e; i += 2) e = set_mtime(f[i], f[i + 1], NULL);
  } else if (strcmp(op, "spawn") == 0 && n > 3 && (nenv = atoi(f[2])) >= 0 && nenv < n - 3) {
    pid_t pid = 0;
    int out = -1, err = -1;
    f[n] = NULL;
    char **envp = nenv ? environ_with(f + 3, nenv) : environ;
    e = envp ? spawn(f + 3 + nenv, envp, &pid, &out, &err) : ENOMEM;
    if (envp != environ) free(envp);
    if (!e) {
      if (n_held == cap_held) {
        cap_held = cap_held ? cap_held * 2 : 16;
        held = realloc(held, cap_held * sizeof *held);
        if (!held) _exit(1);
      }
      held[n_held++] = (struct held){pid, out, err};
      reply("%s ok %d %d %d", id, (int)pid, out, err);
      return;
    }
  } else if (strcmp(op, "copy") == 0 && n >= 4 && (n - 4) % 5 == 0) {
    copy_files(id, f + 2, n - 2);
    return;
  } else if (strcmp(op, "flock") == 0 && n == 4) {
    e = lock_fd((pid_t)atoi(f[2]), atoi(f[3]));
  } else if (strcmp(op, "release") == 0 && n == 3) {
    pid_t pid = (pid_t)atoi(f[2]);
    for (size_t i = 0; i < n_held; i++)
      if (held[i].pid == pid) {
        close(held[i].out);
        close(held[i].err);
        held[i] = held[--n_held];
        break;
      }
  } else {
    e = EINVAL;
  }
  if (e) fail(id, e);
  else reply("%s ok", id);
}

static void reap(void) {
  char drain[64];
  while (read(wake_r, drain, sizeof drain) > 0) {
  }
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    if (WIFSIGNALED(st)) reply("exit %d signal %d", (int)pid, WTERMSIG(st));
    else if (WIFEXITED(st)) reply("exit %d code %d", (int)pid, WEXITSTATUS(st));
  }
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  if (write(wake_w, "", 1) < 0) {
    // full: a wake-up is pending already
  }
  errno = saved;
}

int main(void) {
  int w[2];
  if (pipe2(w, O_CLOEXEC | O_NONBLOCK)) return 1;
  wake_r = w[0];
  wake_w = w[1];
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_DFL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  reply("ready %d", wake_r);

  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  char **fields = NULL;
  size_t cap_fields = 0;
  if (!buf) return 1;
  for (;;) {
    struct pollfd p[2] = {{0, POLLIN, 0}, {wake_r, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[1].revents) reap();
    if (!p[0].revents) continue;
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) return 1;
    }
    ssize_t r = read(0, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0; // tbuild closed stdin: it is done
    len += (size_t)r;
    size_t at = 0;
    while (len - at >= 4) {
      uint32_t n;
      memcpy(&n, buf + at, 4); // x86-64 and arm64 Linux: little-endian, as tbuild writes it
      if (len - at - 4 < n) {
        if ((size_t)n + 4 > cap) {
          cap = (size_t)n + 4;
          memmove(buf, buf + at, len - at);
          len -= at;
          at = 0;
          buf = realloc(buf, cap);
          if (!buf) return 1;
        }
        break;
      }
      char *s = buf + at + 4, *end = s + n;
      int count = 0;
      for (char *c = s; c < end; c++) count += *c == 0;
      if ((size_t)count + 1 > cap_fields) {
        cap_fields = (size_t)count + 16;
        fields = realloc(fields, cap_fields * sizeof *fields);
        if (!fields) return 1;
      }
      int k = 0;
      for (char *c = s, *z; c < end && (z = memchr(c, 0, (size_t)(end - c))); c = z + 1) fields[k++] = c;
      handle(fields, k);
      at += 4 + n;
    }
    memmove(buf, buf + at, len - at);
    len -= at;
  }
}
