// tbuild-scan DIR [MAX_ENTRIES [-p PATH | -n NAME]...]: lists and lstats every entry below DIR
// but inside the directories named by -p (a path below DIR) or -n (a name anywhere), for a build context
// of thousands of files (src/context-scan.ts reads the output). One fstatat per entry from a
// directory fd, without Node.js's per-call Stats object and four Dates: 20,000 entries take
// ~60 ms here against ~200 ms through fs.lstatSync.
//
// Output on stdout, little-endian, written once the scan is done:
//   "TBS1"
//   per directory, parents before children:
//     'D' u32 relBytes rel u32 entries, then per entry:
//       u32 nameBytes name u8 statted (0: lstat failed, 1: yes, 2: yes, a directory left out)
//       if statted: u32 mode u32 uid u32 gid u64 size u64 ino
//                   i64 mtimeSec u32 mtimeNsec i64 ctimeSec u32 ctimeNsec
//                   if a symlink: u32 targetBytes (0xffffffff: unreadable) target
//   'Z' u8 complete (0: stopped at MAX_ENTRIES; the directories listed are whole)
// A directory that cannot be opened or read has no block: the caller reads it itself.
//
// Built by packages/tbuild/scripts/bundle.mjs where a C compiler is; without it, the context
// is read by Node.js as before.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *out;
static size_t out_len, out_cap;
static unsigned long long entries_left;
static int stopped;
static char **prune_paths, **prune_names;
static int n_prune_paths, n_prune_names;

static int pruned(const char *rel, const char *name) {
  for (int i = 0; i < n_prune_names; i++)
    if (strcmp(prune_names[i], name) == 0) return 1;
  for (int i = 0; i < n_prune_paths; i++)
    if (strcmp(prune_paths[i], rel) == 0) return 1;
  return 0;
}

static void put(const void *p, size_t n) {
  if (out_len + n > out_cap) {
    out_cap = (out_len + n) * 2;
    out = realloc(out, out_cap);
    if (!out) exit(3);
  }
  memcpy(out + out_len, p, n);
  out_len += n;
}
static void put8(uint8_t v) { put(&v, 1); }
static void put32(uint32_t v) { put(&v, 4); }
static void put64(uint64_t v) { put(&v, 8); }

static char rel[PATH_MAX];

// Puts the path of `name` (n bytes), in the directory rel[0..len), into rel. Its length, or 0
// when it does not fit: that directory is then not listed, and the scan not whole.
static size_t child_rel(size_t len, const char *name, size_t n) {
  size_t sub_len = len + (len ? 1 : 0) + n;
  if (sub_len >= sizeof rel) return 0;
  if (len) rel[len] = '/';
  memcpy(rel + sub_len - n, name, n);
  rel[sub_len] = 0;
  return sub_len;
}

// Lists the directory open as `fd`, named `rel[0..len)` below DIR, then each subdirectory.
static void scan(int fd, size_t len) {
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  size_t block = out_len;
  put8('D');
  put32((uint32_t)len);
  put(rel, len);
  size_t count_at = out_len;
  put32(0);
  uint32_t count = 0;
  size_t subs_len = 0, subs_cap = 0;
  char **subs = NULL;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    if (entries_left == 0) {
      stopped = 1;
      break;
    }
    entries_left--;
    size_t n = strlen(name);
    put32((uint32_t)n);
    put(name, n);
    count++;
    struct stat st;
    if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      put8(0);
      continue;
    }
    int left_out = S_ISDIR(st.st_mode) && child_rel(len, name, n) && pruned(rel, name);
    put8(left_out ? 2 : 1);
    put32(st.st_mode);
    put32(st.st_uid);
    put32(st.st_gid);
    put64((uint64_t)st.st_size);
    put64((uint64_t)st.st_ino);
    put64((uint64_t)(int64_t)st.st_mtim.tv_sec);
    put32((uint32_t)st.st_mtim.tv_nsec);
    put64((uint64_t)(int64_t)st.st_ctim.tv_sec);
    put32((uint32_t)st.st_ctim.tv_nsec);
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t t = readlinkat(dirfd(d), name, target, sizeof target);
      if (t < 0 || (size_t)t == sizeof target) {
        put32(0xffffffffu);
      } else {
        put32((uint32_t)t);
        put(target, (size_t)t);
      }
    } else if (S_ISDIR(st.st_mode) && !left_out) {
      if (subs_len == subs_cap) {
        subs_cap = subs_cap ? subs_cap * 2 : 16;
        subs = realloc(subs, subs_cap * sizeof *subs);
        if (!subs) exit(3);
      }
      subs[subs_len++] = strdup(name);
    }
    errno = 0;
  }
  if (stopped || (e == NULL && errno != 0)) {
    // A listing cut short (by an error, or at MAX_ENTRIES) is no listing: drop the block.
    out_len = block;
  } else {
    memcpy(out + count_at, &count, 4);
  }
  for (size_t i = 0; i < subs_len; i++) {
    size_t sub_len = stopped ? 0 : child_rel(len, subs[i], strlen(subs[i]));
    if (sub_len) {
      int c = openat(dirfd(d), subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (c >= 0) scan(c, sub_len);
    }
    free(subs[i]);
  }
  free(subs);
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc < 2 || (argc > 2 && argc % 2 == 0)) {
    fprintf(stderr, "usage: tbuild-scan DIR [MAX_ENTRIES [-p PATH | -n NAME]...]\n");
    return 2;
  }
  entries_left = argc >= 3 ? strtoull(argv[2], NULL, 10) : 1000000;
  prune_paths = calloc((size_t)argc, sizeof *prune_paths);
  prune_names = calloc((size_t)argc, sizeof *prune_names);
  if (!prune_paths || !prune_names) return 3;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-p") == 0) prune_paths[n_prune_paths++] = argv[i + 1];
    else if (strcmp(argv[i], "-n") == 0) prune_names[n_prune_names++] = argv[i + 1];
    else return 2;
  }
  int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 1;
  put("TBS1", 4);
  scan(fd, 0);
  put8('Z');
  put8(stopped ? 0 : 1);
  for (size_t done = 0; done < out_len;) {
    ssize_t w = write(1, out + done, out_len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 4;
    }
    done += (size_t)w;
  }
  return 0;
}
