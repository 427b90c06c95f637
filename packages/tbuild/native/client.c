// tbuild's thin client: sends a build to the store's build server (`tbuild server start`)
// without starting Node.js, which takes ~60 ms of a ~90 ms warm build through the server. It
// speaks bin/server-protocol.js and decides as bin/server-client.js does; whenever the server
// cannot take the build (none runs, it refuses, it does not answer), and for every command
// other than a build, it execs `node bin/tbuild.js` with the same arguments.
//
// Built by scripts/bundle.mjs where a C compiler is; without one, tbuild runs as before.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

enum { HELLO = 0x68, ACCEPTED = 0x61, REFUSED = 0x72, OUT = 0x6f, ERR = 0x65, EXIT = 0x78, SIGNAL = 0x73, RESIZE = 0x77 };

static char dist_dir[PATH_MAX];

// ---- running tbuild here ----

// Node.js parses NODE_EXTRA_CA_CERTS as it starts (30-100 ms for a distribution's bundle);
// tbuild reads it at its first TLS connection instead (registry/src/extra-ca.ts). Left alone
// when NODE_OPTIONS picks another root store, which that code does not reproduce.
static void defer_extra_ca(void) {
  const char *file = getenv("NODE_EXTRA_CA_CERTS");
  const char *opts = getenv("NODE_OPTIONS");
  if (!file || !*file || (opts && (strstr(opts, "openssl-ca") || strstr(opts, "system-ca")))) return;
  if (setenv("TBUILD_EXTRA_CA_CERTS", file, 1) == 0) unsetenv("NODE_EXTRA_CA_CERTS");
}

// A build's first mount waits for the sys helper (tbuild-sys, packages/executor/native/sys.c),
// and Node.js starting it forks its whole process: ~13-16 ms of the main thread on the way to
// the first step. Started here, while Node.js starts, with its pipes handed down for
// bin/tbuild.js to take over (TBUILD_SYS_HELPER=pid:requests-fd:replies-fd). It exits when its
// stdin closes, with tbuild.
static void start_sys_helper(void) {
  const char *off = getenv("TBUILD_NO_SYS_HELPER");
  if (off && *off) return;
  char helper[PATH_MAX + 16];
  snprintf(helper, sizeof helper, "%s/tbuild-sys", dist_dir);
  if (access(helper, X_OK) != 0) return;
  int req[2], rep[2];
  if (pipe(req)) return;
  if (pipe(rep)) {
    close(req[0]);
    close(req[1]);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (dup2(req[0], 0) < 0 || dup2(rep[1], 1) < 0 || null < 0 || dup2(null, 2) < 0) _exit(127);
    if (close_range(3, ~0U, 0)) {
      for (int fd = 3; fd < 1024; fd++) close(fd);
    }
    execl(helper, "tbuild-sys", (char *)NULL);
    _exit(127);
  }
  close(req[0]);
  close(rep[1]);
  char spec[64];
  if (pid < 0 || snprintf(spec, sizeof spec, "%d:%d:%d", (int)pid, req[1], rep[0]) < 0 || setenv("TBUILD_SYS_HELPER", spec, 1)) {
    close(req[1]);
    close(rep[0]);
  }
}

static int routable(int argc, char **argv);

static void run_here(int argc, char **argv) {
  // Dispositions survive exec: node starts as it would from a shell.
  signal(SIGPIPE, SIG_DFL);
  defer_extra_ca();
  if (routable(argc, argv)) start_sys_helper();
  char js[PATH_MAX + 32];
  snprintf(js, sizeof js, "%s/../bin/tbuild.js", dist_dir);
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) exit(70);
  args[0] = "node";
  args[1] = js;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp("node", args);
  fprintf(stderr, "tbuild: cannot run node: %s\n", strerror(errno));
  exit(127);
}

// ---- which commands go to the server (bin/server-client.js: isBuildCommand, routable) ----

static int routable(int argc, char **argv) {
  int c = 1;
  // The global `--root DIR` may come before the command (cli/main.ts: leadingGlobals).
  while (c < argc && (!strcmp(argv[c], "--root") || !strncmp(argv[c], "--root=", 7))) c += strcmp(argv[c], "--root") ? 1 : 2;
  if (c >= argc) return 0;
  const char *f = argv[c];
  if (!strcmp(f, "-h") || !strcmp(f, "--help") || !strcmp(f, "--version")) return 0;
  if (strcmp(f, "build") && f[0] != '-' && strcmp(f, ".") && !strchr(f, '/')) return 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-") || strstr(a, "/dev/stdin") || strstr(a, "/dev/fd/") || strstr(a, "/dev/tty") || strstr(a, "/proc/self/")) return 0;
  }
  return 1;
}

// ---- the store's socket (server-client.js: storeRoot, as path.resolve and path.join) ----

/** Lexical normalization of an absolute path, as Node's path.resolve does (no symlinks). */
static void normalize(char *p) {
  char out[PATH_MAX * 2];
  size_t n = 0;
  for (const char *s = p; *s;) {
    while (*s == '/') s++;
    const char *e = s;
    while (*e && *e != '/') e++;
    size_t len = (size_t)(e - s);
    if (len == 0) break;
    if (len == 1 && s[0] == '.') {
    } else if (len == 2 && s[0] == '.' && s[1] == '.') {
      while (n > 0 && out[n - 1] != '/') n--;
      if (n > 0) n--;
    } else {
      out[n++] = '/';
      memcpy(out + n, s, len);
      n += len;
    }
    s = e;
  }
  if (n == 0) out[n++] = '/';
  out[n] = 0;
  strcpy(p, out);
}

/** `rel` resolved against the cwd into `out` (PATH_MAX * 2 bytes); 0 when it does not fit. */
static int resolve(const char *rel, char *out) {
  char cwd[PATH_MAX];
  if (rel[0] == '/') {
    if (strlen(rel) >= PATH_MAX) return 0;
    strcpy(out, rel);
  } else {
    if (!getcwd(cwd, sizeof cwd) || strlen(cwd) + strlen(rel) + 2 >= PATH_MAX) return 0;
    snprintf(out, PATH_MAX * 2, "%s/%s", cwd, rel);
  }
  normalize(out);
  return 1;
}

static int socket_path(int argc, char **argv, char *out) {
  const char *root = NULL;
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
    if (!strcmp(argv[i], "--root") && i + 1 < argc) root = argv[++i];
    else if (!strncmp(argv[i], "--root=", 7)) root = argv[i] + 7;
  }
  char base[PATH_MAX * 2];
  const char *env;
  if (root && *root) {
    if (!resolve(root, base)) return 0;
  } else if ((env = getenv("TBUILD_ROOT")) && *env) {
    if (!resolve(env, base)) return 0;
  } else if ((env = getenv("XDG_DATA_HOME")) && env[0] == '/') {
    if (strlen(env) + 8 >= PATH_MAX) return 0;
    snprintf(base, sizeof base, "%s/tbuild", env);
    normalize(base);
  } else {
    const char *home = getenv("HOME");
    if (!home || !*home) {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : "/";
    }
    if (strlen(home) + 24 >= PATH_MAX) return 0;
    snprintf(base, sizeof base, "%s/.local/share/tbuild", home);
    normalize(base);
  }
  if (strlen(base) + 20 >= PATH_MAX) return 0;
  snprintf(out, PATH_MAX, "%s/run/server.sock", base);
  return 1;
}

// ---- the hello: JSON ----

typedef struct {
  char *p;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *s, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 256;
    b->p = realloc(b->p, b->cap);
    if (!b->p) exit(70);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

/** A JSON string of `s`, `n` bytes; bytes above 0x7f go as they are (the server reads UTF-8, as Node reads the environment). */
static void json_str(buf_t *b, const char *s, size_t n) {
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      put(b, esc, 2);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(b, esc, 6);
    } else {
      put(b, &s[i], 1);
    }
  }
  put(b, "\"", 1);
}

static int columns(int fd) {
  struct winsize ws;
  return ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

/** As Node's streamInfo: {tty, columns} with columns only for a terminal. */
static void stream_info(buf_t *b, int fd) {
  char s[64];
  if (isatty(fd)) snprintf(s, sizeof s, "{\"tty\":true,\"columns\":%d}", columns(fd));
  else snprintf(s, sizeof s, "{\"tty\":false}");
  puts_(b, s);
}

static void frame(buf_t *b, int kind, const char *payload, size_t n) {
  unsigned char head[5] = {(unsigned char)kind, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  put(b, head, 5);
  put(b, payload, n);
}

static int hello(buf_t *out, int argc, char **argv) {
  char bundle[PATH_MAX + 16];
  struct stat st;
  snprintf(bundle, sizeof bundle, "%s/tbuild.cjs", dist_dir);
  if (stat(bundle, &st) != 0) return 0;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return 0;
  buf_t j = {0};
  char id[128];
  // server-protocol.js: nativeIdentity(bundleIdentity(...)).
  long long ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
  snprintf(id, sizeof id, "native1:%llu:%lld:%lld", (unsigned long long)st.st_ino, (long long)st.st_size, ms);
  puts_(&j, "{\"identity\":");
  json_str(&j, id, strlen(id));
  puts_(&j, ",\"argv\":[");
  for (int i = 1; i < argc; i++) {
    if (i > 1) puts_(&j, ",");
    json_str(&j, argv[i], strlen(argv[i]));
  }
  puts_(&j, "],\"cwd\":");
  json_str(&j, cwd, strlen(cwd));
  puts_(&j, ",\"env\":{");
  int first = 1;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || eq == *e) continue;
    if (!first) puts_(&j, ",");
    first = 0;
    json_str(&j, *e, (size_t)(eq - *e));
    puts_(&j, ":");
    json_str(&j, eq + 1, strlen(eq + 1));
  }
  puts_(&j, "},\"stdout\":");
  stream_info(&j, 1);
  puts_(&j, ",\"stderr\":");
  stream_info(&j, 2);
  puts_(&j, "}");
  frame(out, HELLO, j.p, j.n);
  free(j.p);
  return 1;
}

// ---- talking to the server ----

static volatile sig_atomic_t got_signal, got_resize;

static void on_signal(int sig) {
  // As when the build runs here: the first ^C cancels it (the server cleans up), a second quits.
  if (got_signal) _exit(130);
  got_signal = sig;
}

static void on_resize(int sig) {
  (void)sig;
  got_resize = 1;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      // A descriptor the caller made non-blocking: wait until it takes more.
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd q = {.fd = fd, .events = POLLOUT};
        poll(&q, 1, -1);
        continue;
      }
      return 0;
    }
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

static void send_frame(int sock, int kind, const char *payload) {
  buf_t b = {0};
  frame(&b, kind, payload, strlen(payload));
  write_all(sock, b.p, b.n);
  free(b.p);
}

int main(int argc, char **argv) {
  ssize_t len = readlink("/proc/self/exe", dist_dir, sizeof dist_dir - 1);
  if (len <= 0) {
    fprintf(stderr, "tbuild: cannot find its own path in /proc/self/exe: %s\nhint: run node %s instead\n", strerror(errno), "packages/tbuild/bin/tbuild.js");
    return 70;
  }
  dist_dir[len] = 0;
  *strrchr(dist_dir, '/') = 0;

  char sock_path[PATH_MAX];
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  const char *no_server = getenv("TBUILD_NO_SERVER");
  if ((no_server && *no_server) || !routable(argc, argv) || !socket_path(argc, argv, sock_path) || strlen(sock_path) >= sizeof addr.sun_path || access(sock_path, F_OK) != 0) run_here(argc, argv);
  strcpy(addr.sun_path, sock_path);

  // A server that closes the connection, or output to a closed pipe, is an error to handle,
  // not a signal that kills the client (the build still finishes and cleans up).
  signal(SIGPIPE, SIG_IGN);
  buf_t out = {0};
  if (!hello(&out, argc, argv)) run_here(argc, argv);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0 || !write_all(sock, out.p, out.n)) run_here(argc, argv);
  free(out.p);

  const char *t = getenv("TBUILD_SERVER_ACCEPT_TIMEOUT_MS");
  int accept_ms = t && atoi(t) > 0 ? atoi(t) : 10000;
  int accepted = 0, exit_code = -1, out_ok = 1, err_ok = 1, signal_sent = 0;
  buf_t in = {0};
  for (;;) {
    if (got_signal && !signal_sent) {
      send_frame(sock, SIGNAL, got_signal == SIGINT ? "SIGINT" : "SIGTERM");
      signal_sent = 1;
    }
    if (got_resize) {
      got_resize = 0;
      char s[64];
      int o = isatty(1) ? columns(1) : -1, e = isatty(2) ? columns(2) : -1;
      if (o >= 0 && e >= 0) snprintf(s, sizeof s, "{\"stdout\":%d,\"stderr\":%d}", o, e);
      else if (e >= 0) snprintf(s, sizeof s, "{\"stderr\":%d}", e);
      else if (o >= 0) snprintf(s, sizeof s, "{\"stdout\":%d}", o);
      else snprintf(s, sizeof s, "{}");
      send_frame(sock, RESIZE, s);
    }
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int r = poll(&p, 1, accepted ? -1 : accept_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // A server that takes the connection but never answers (stopped, hung) is given up on.
    if (r == 0) break;
    char chunk[65536];
    ssize_t n = read(sock, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    put(&in, chunk, (size_t)n);
    size_t at = 0;
    while (in.n - at >= 5) {
      const unsigned char *h = (const unsigned char *)in.p + at;
      size_t size = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
      if (in.n - at < 5 + size) break;
      const char *payload = in.p + at + 5;
      switch (h[0]) {
      case ACCEPTED: {
        accepted = 1;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        struct sigaction sw = {.sa_handler = on_resize};
        sigaction(SIGWINCH, &sw, NULL);
        break;
      }
      case REFUSED:
        if (!accepted) run_here(argc, argv);
        break;
      case OUT:
        if (out_ok) out_ok = write_all(1, payload, size);
        break;
      case ERR:
        if (err_ok) err_ok = write_all(2, payload, size);
        break;
      case EXIT: {
        char code[16] = {0};
        memcpy(code, payload, size < 15 ? size : 15);
        exit_code = atoi(code);
        break;
      }
      }
      at += 5 + size;
    }
    memmove(in.p, in.p + at, in.n - at);
    in.n -= at;
  }
  if (!accepted) run_here(argc, argv);
  if (exit_code >= 0) return exit_code;
  *strrchr(sock_path, '/') = 0;
  fprintf(stderr, "error TB_SERVER_GONE: the tbuild server stopped before the build finished\nhint: its log is %s/server.log; run the build again (without a server: TBUILD_NO_SERVER=1)\n", sock_path);
  return 1;
}
