// berth_fs: filesystem operations confined to a root directory, for unpacking untrusted layers.
//
// Every operation names its object as (rootFd, rel). The parent directory of rel is opened with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to the root, so ".." and absolute
// symlinks met on the way resolve inside the root, decided by the kernel at the moment of use
// (no check-a-string-then-open race, the bug class behind docker cp's and node-tar's CVEs). The
// last component is then acted on with an *at syscall that never follows it (O_NOFOLLOW,
// AT_SYMLINK_NOFOLLOW, linkat without AT_SYMLINK_FOLLOW).
//
// Paths are byte strings: JS passes them as latin1 strings (one char per byte), so names that
// are not valid UTF-8 survive the trip. Errors are thrown as Error objects carrying `code`
// (the errno name), `errno`, `syscall` and `path`, like Node's own fs errors.
//
// Everything runs synchronously on the calling thread: each call is a handful of syscalls, and
// a thread-pool hop per tar entry would cost more than the work.

#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

// Newer than Debian 12's kernel headers; the numbers are the same on every architecture.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
struct berth_xattr_args {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};

// The syscall that failed last; set next to every failing return so errors can name it.
static _Thread_local const char *failed_syscall = "";  // per thread: apply workers share this library

#define FAIL(name) \
  do { failed_syscall = (name); return -1; } while (0)

// ---------------------------------------------------------------------------------------------
// Errors and argument conversion.

static void throw_errno(napi_env env, int err, const char *syscall_name, const char *path) {
  const char *name = strerrorname_np(err);
  if (name == NULL) name = "EUNKNOWN";
  char msg[PATH_MAX + 256];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", name, strerror(err), syscall_name, path);
  napi_value js_msg, js_code, error, value;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &js_code);
  napi_create_error(env, js_code, js_msg, &error);
  napi_create_int32(env, -err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  napi_create_string_latin1(env, path, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "path", value);
  napi_throw(env, error);
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "berth_fs: too few arguments");
    return false;
  }
  return true;
}

// A path argument as bytes. Refuses embedded NULs and paths past PATH_MAX rather than truncate.
static bool get_path(napi_env env, napi_value v, char *buf, bool latin1) {
  size_t len = 0;
  napi_status st = latin1 ? napi_get_value_string_latin1(env, v, NULL, 0, &len)
                          : napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (st != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "berth_fs: path must be a string");
    return false;
  }
  if (len >= PATH_MAX) {
    throw_errno(env, ENAMETOOLONG, "path", "");
    return false;
  }
  if (latin1) napi_get_value_string_latin1(env, v, buf, PATH_MAX, &len);
  else napi_get_value_string_utf8(env, v, buf, PATH_MAX, &len);
  if (strlen(buf) != len) {
    throw_errno(env, EINVAL, "path", buf);
    return false;
  }
  return true;
}

static bool get_i64(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "berth_fs: expected a number");
    return false;
  }
  return true;
}

static bool get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "berth_fs: expected a number");
    return false;
  }
  return true;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "berth_fs: expected a number");
    return false;
  }
  return true;
}

static bool get_times(napi_env env, napi_value *argv, struct timespec ts[2]);

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value int32(napi_env env, int32_t n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Confined resolution.

// Splits rel in place into its parent (NULL when rel is one component) and its last component.
// Leading and trailing slashes are dropped. "." and ".." components are refused: callers clean
// names lexically first, and a last component of ".." would let an *at call act on the
// directory above the root. Returns false (errno EINVAL) for those and for an empty rel.
static bool split(char *rel, char **dir, char **base) {
  while (*rel == '/') rel++;
  size_t n = strlen(rel);
  while (n > 0 && rel[n - 1] == '/') rel[--n] = '\0';
  if (n == 0) {
    errno = EINVAL;
    return false;
  }
  for (char *c = rel; *c;) {
    char *end = strchr(c, '/');
    size_t len = end ? (size_t)(end - c) : strlen(c);
    if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
      errno = EINVAL;
      return false;
    }
    c = end ? end + 1 : c + len;
  }
  char *slash = strrchr(rel, '/');
  if (slash == NULL) {
    *dir = NULL;
    *base = rel;
  } else {
    *slash = '\0';
    *dir = rel;
    *base = slash + 1;
  }
  return true;
}

// openat2 confined to dirfd. RESOLVE_IN_ROOT returns EAGAIN when a concurrent rename might have
// let ".." escape; retrying is what the man page asks for.
static int open_in_root(int dirfd, const char *path, uint64_t flags) {
  struct open_how how = {
    .flags = flags | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  for (int i = 0; i < 64; i++) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return (int)fd;
  }
  return -1;
}

static void close_keep_errno(int fd, int root) {
  if (fd >= 0 && fd != root) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
}

// Links followed while making one path: the kernel's own limit (SYMLOOP_MAX is 40 on Linux).
#define MAX_LINK_HOPS 40

// The path `dir` takes when its component `comp` (inside dir, NUL-terminated there; `rest` what
// followed it, or NULL) is a symlink named by `prev` whose target does not exist: the target in
// place of the component, relative to the component's directory unless absolute. Written to
// `out`; 1 when comp is such a symlink, 0 when it is not, -1 on error.
static int through_dangling_link(int prev, char *dir, char *comp, const char *rest, char *out) {
  struct stat st;
  if (fstatat(prev, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) FAIL("fstatat");
  if (!S_ISLNK(st.st_mode)) return 0;
  char link[PATH_MAX];
  ssize_t n = readlinkat(prev, comp, link, sizeof link - 1);
  if (n < 0) FAIL("readlinkat");
  link[n] = '\0';
  int len = link[0] == '/'
    ? snprintf(out, PATH_MAX, "%s%s%s", link, rest ? "/" : "", rest ? rest : "")
    : snprintf(out, PATH_MAX, "%.*s%s%s%s", (int)(comp - dir), dir, link, rest ? "/" : "", rest ? rest : "");
  if (len < 0 || len >= PATH_MAX) {
    errno = ENAMETOOLONG;
    FAIL("readlinkat");
  }
  return 1;
}

// Opens directory `dir` (NULL: the root itself, returned as is) inside root as an O_PATH fd.
// With mkdirp, missing components are created one by one (mode 0755, like containerd's
// MkdirAll); each prefix is re-resolved from the root so a symlink among them stays confined.
// A symlink on the way whose target does not exist yet is followed and its target made, as
// containerd does (continuity's RootPath treats what is missing as plain directories): a layer
// may hold `lib -> usr/lib` and then `lib/x` before (or without) `usr/lib` itself.
static int open_dir_hops(int root, char *dir, bool mkdirp, int hops);

static int open_dir(int root, char *dir, bool mkdirp) {
  return open_dir_hops(root, dir, mkdirp, 0);
}

static int open_dir_hops(int root, char *dir, bool mkdirp, int hops) {
  if (dir == NULL) return root;
  int fd = open_in_root(root, dir, O_PATH | O_DIRECTORY);
  if (fd >= 0) return fd;
  if (errno != ENOENT || !mkdirp) FAIL("openat2");

  int prev = root;
  for (char *comp = dir;;) {
    char *slash = strchr(comp, '/');
    if (slash == comp) {
      // An empty component: a leading slash (a link's absolute target) or "//". Nothing to make.
      comp++;
      continue;
    }
    if (slash) *slash = '\0';
    int cur = open_in_root(root, dir, O_PATH | O_DIRECTORY);
    const char *step = "openat2";
    if (cur < 0 && errno == ENOENT) {
      // prev is the resolved parent of comp, so this creates exactly what openat2 missed. A
      // dangling symlink here gives EEXIST, then ENOENT again: followed below.
      if (mkdirat(prev, comp, 0755) == 0 || errno == EEXIST) {
        cur = open_in_root(root, dir, O_PATH | O_DIRECTORY);
        if (cur < 0 && errno == ENOENT) {
          // Still missing after EEXIST: comp is a dangling symlink. Its target is made instead,
          // the new path resolved from the root again (so in the root still).
          char next[PATH_MAX];
          int redirected = through_dangling_link(prev, dir, comp, slash ? slash + 1 : NULL, next);
          if (redirected != 0) {
            if (slash) *slash = '/';
            close_keep_errno(prev, root);
            if (redirected < 0) return -1;
            if (hops >= MAX_LINK_HOPS) {
              errno = ELOOP;
              FAIL("openat2");
            }
            return open_dir_hops(root, next, mkdirp, hops + 1);
          }
          errno = ENOENT;
        }
      } else {
        step = "mkdirat";
      }
    }
    if (slash) *slash = '/';
    close_keep_errno(prev, root);
    if (cur < 0) FAIL(step);
    if (slash == NULL) return cur;
    prev = cur;
    comp = slash + 1;
  }
}

// Removes (parent, base) and, if it is a directory, everything below it, never following a
// symlink (each level is opened O_NOFOLLOW relative to the one above).
static int remove_all(int parent, const char *base) {
  if (unlinkat(parent, base, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR) FAIL("unlinkat");
  int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) FAIL("openat");
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close_keep_errno(fd, -1);
    FAIL("fdopendir");
  }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    rc = remove_all(fd, e->d_name);
  }
  int saved = errno;
  closedir(d);
  if (rc != 0) {
    errno = saved;
    return -1;
  }
  if (unlinkat(parent, base, AT_REMOVEDIR) < 0 && errno != ENOENT) FAIL("unlinkat");
  return 0;
}

// A resolved target: parent fd plus last component, or the root itself (rel empty or "/").
typedef struct {
  int root;
  int parent;
  char *base;  // NULL when the target is the root
} target;

static int resolve(int root, char *rel, bool mkdirp, target *t) {
  t->root = root;
  t->parent = -1;
  t->base = NULL;
  const char *p = rel;
  while (*p == '/') p++;
  if (*p == '\0') return 0;
  char *dir;
  if (!split(rel, &dir, &t->base)) FAIL("path");
  t->parent = open_dir(root, dir, mkdirp);
  return t->parent < 0 ? -1 : 0;
}

static void release(target *t) {
  close_keep_errno(t->parent, t->root);
}

// The root directory as a real (not O_PATH) fd, for f*-calls on it.
static int open_root_dir(int root) {
  int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) FAIL("openat");
  return fd;
}

// The /proc link of one of our descriptors: the path that names exactly the object the
// descriptor holds, whatever has been renamed or swapped since it was opened. For the calls that
// refuse O_PATH descriptors (f*xattr, open for reading); a magic link of our own, never one a
// tree we read could plant.
static const char *fd_link(int fd, char *buf, size_t size) {
  snprintf(buf, size, "/proc/self/fd/%d", fd);
  return buf;
}

// Runs a create step; when the name is taken, removes what is there and tries once more (what
// tar and containerd do). keep_dir: an existing directory is kept and reported with 1.
typedef int (*create_fn)(int parent, const char *base, void *arg);

static int create_replacing(int parent, const char *base, create_fn fn, void *arg, bool keep_dir) {
  for (int attempt = 0;; attempt++) {
    int rc = fn(parent, base, arg);
    if (rc >= 0) return rc;
    if (errno != EEXIST || attempt > 0) return -1;
    if (keep_dir) {
      struct stat st;
      if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) return 1;
    }
    if (remove_all(parent, base) < 0) return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Create operations.

static int do_mkdir(int parent, const char *base, void *arg) {
  if (mkdirat(parent, base, *(mode_t *)arg) == 0) return 0;
  FAIL("mkdirat");
}

struct mknod_arg { mode_t mode; dev_t dev; };
static int do_mknod(int parent, const char *base, void *arg) {
  struct mknod_arg *a = arg;
  if (mknodat(parent, base, a->mode, a->dev) == 0) return 0;
  FAIL("mknodat");
}

static int do_symlink(int parent, const char *base, void *arg) {
  if (symlinkat((const char *)arg, parent, base) == 0) return 0;
  FAIL("symlinkat");
}

static int do_create(int parent, const char *base, void *arg) {
  int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, *(mode_t *)arg);
  if (fd >= 0) return fd;
  FAIL("openat");
}

struct link_arg { int tparent; const char *tbase; };
static int do_link(int parent, const char *base, void *arg) {
  struct link_arg *a = arg;
  // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself and never its target.
  if (linkat(a->tparent, a->tbase, parent, base, 0) == 0) return 0;
  if (errno == EEXIST) {
    // Already the same inode (a link entry repeated, or naming itself): nothing to replace.
    struct stat have, want;
    if (fstatat(parent, base, &have, AT_SYMLINK_NOFOLLOW) == 0 &&
        fstatat(a->tparent, a->tbase, &want, AT_SYMLINK_NOFOLLOW) == 0 &&
        have.st_dev == want.st_dev && have.st_ino == want.st_ino) {
      return 0;
    }
    errno = EEXIST;
  }
  FAIL("linkat");
}

// The shared shape of every (rootFd, rel, ...) entry point: resolve the parent, creating
// missing directories, run the create step with replacement, throw on failure.
static napi_value create_entry(napi_env env, int32_t root, char *rel, create_fn fn, void *arg,
                               bool keep_dir, int *result) {
  char shown[PATH_MAX];
  strcpy(shown, rel);
  target t;
  if (resolve(root, rel, true, &t) < 0) {
    throw_errno(env, errno, failed_syscall, shown);
    return NULL;
  }
  if (t.base == NULL) {
    throw_errno(env, EEXIST, "resolve", shown);  // the root itself cannot be created or replaced
    return NULL;
  }
  int rc = create_replacing(t.parent, t.base, fn, arg, keep_dir);
  int saved = errno;
  release(&t);
  if (rc < 0) {
    throw_errno(env, saved, failed_syscall, shown);
    return NULL;
  }
  *result = rc;
  return undefined(env);
}

// openRoot(path: string): number — an O_PATH fd on the directory that confines everything.
static napi_value js_open_root(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_MAX];
  if (!get_args(env, info, 1, argv) || !get_path(env, argv[0], path, false)) return NULL;
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  return int32(env, fd);
}

// close(fd: number): void
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) {
    throw_errno(env, errno, "close", "");
    return NULL;
  }
  return undefined(env);
}

// mkdir(root, rel, mode): boolean — true if created, false if a directory was already there.
static napi_value js_mkdir(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  uint32_t mode;
  char rel[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &mode)) {
    return NULL;
  }
  mode_t m = mode & 07777;
  int rc;
  if (create_entry(env, root, rel, do_mkdir, &m, true, &rc) == NULL) return NULL;
  return boolean(env, rc == 0);
}

// mknod(root, rel, mode, major, minor): void — mode includes the file type (S_IFCHR etc.).
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t root;
  uint32_t mode, major, minor;
  char rel[PATH_MAX];
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &mode) ||
      !get_u32(env, argv[3], &major) || !get_u32(env, argv[4], &minor)) {
    return NULL;
  }
  struct mknod_arg a = { .mode = mode, .dev = makedev(major, minor) };
  int rc;
  return create_entry(env, root, rel, do_mknod, &a, false, &rc);
}

// symlink(root, rel, target): void — target is stored verbatim and never resolved here.
static napi_value js_symlink(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  char rel[PATH_MAX], dest[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_path(env, argv[2], dest, true)) {
    return NULL;
  }
  int rc;
  return create_entry(env, root, rel, do_symlink, dest, false, &rc);
}

// createFile(root, rel, mode): number — a new regular file opened for writing (O_EXCL and
// O_NOFOLLOW: the fd is always a file this call created).
static napi_value js_create_file(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  uint32_t mode;
  char rel[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &mode)) {
    return NULL;
  }
  mode_t m = mode & 07777;
  int fd;
  if (create_entry(env, root, rel, do_create, &m, false, &fd) == NULL) return NULL;
  return int32(env, fd);
}

// writeFile(root, rel, data, mode, uid, gid, atimeSec, atimeNsec, mtimeSec, mtimeNsec): void —
// a whole small file in one call: create (O_EXCL|O_NOFOLLOW, private 0600), write, then owner,
// mode (after chown, which clears setuid bits) and times. Most files of a layer are small, and
// one crossing instead of six is most of the per-file cost of an unpack.
static napi_value js_write_file(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  int32_t root;
  uint32_t mode, uid, gid;
  char rel[PATH_MAX];
  void *data;
  size_t size;
  struct timespec ts[2];
  if (!get_args(env, info, 10, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[3], &mode) ||
      !get_u32(env, argv[4], &uid) || !get_u32(env, argv[5], &gid) || !get_times(env, argv + 6, ts)) {
    return NULL;
  }
  if (napi_get_buffer_info(env, argv[2], &data, &size) != napi_ok) {
    napi_throw_type_error(env, NULL, "data must be a Buffer");
    return NULL;
  }
  char shown[PATH_MAX];
  snprintf(shown, sizeof shown, "%s", rel);
  mode_t private_mode = 0600;
  int fd;
  if (create_entry(env, root, rel, do_create, &private_mode, false, &fd) == NULL) return NULL;
  const char *step = NULL;
  for (size_t off = 0; off < size && step == NULL;) {
    ssize_t n = write(fd, (const char *)data + off, size - off);
    if (n < 0) {
      if (errno != EINTR) step = "write";
    } else {
      off += (size_t)n;
    }
  }
  if (step == NULL && fchown(fd, uid, gid) < 0) step = "fchown";
  if (step == NULL && fchmod(fd, mode & 07777) < 0) step = "fchmod";
  if (step == NULL && futimens(fd, ts) < 0) step = "futimens";
  int saved = errno;
  if (close(fd) < 0 && step == NULL) {
    step = "close";
    saved = errno;
  }
  if (step != NULL) {
    throw_errno(env, saved, step, shown);
    return NULL;
  }
  return undefined(env);
}

// makeDir(root, rel, mode, uid, gid): void — a directory entry in one call: created if missing
// (an existing directory is kept), then given its owner and mode through a descriptor opened
// without following, so nothing but that directory can be changed.
static napi_value js_make_dir(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t root;
  uint32_t mode, uid, gid;
  char rel[PATH_MAX];
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &mode) ||
      !get_u32(env, argv[3], &uid) || !get_u32(env, argv[4], &gid)) {
    return NULL;
  }
  char shown[PATH_MAX];
  snprintf(shown, sizeof shown, "%s", rel);
  target t;
  if (resolve(root, rel, true, &t) < 0) {
    throw_errno(env, errno, failed_syscall, shown);
    return NULL;
  }
  int fd;
  const char *step = NULL;
  if (t.base == NULL) {
    fd = open_root_dir(root);  // "./": the snapshot's own root directory
    if (fd < 0) step = "openat";
  } else {
    mode_t private_mode = 0700;
    if (create_replacing(t.parent, t.base, do_mkdir, &private_mode, true) < 0) step = failed_syscall;
    fd = step ? -1 : openat(t.parent, t.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!step && fd < 0) step = "openat";
  }
  int saved = errno;
  if (!step && fchown(fd, uid, gid) < 0) { step = "fchown"; saved = errno; }
  if (!step && fchmod(fd, mode & 07777) < 0) { step = "fchmod"; saved = errno; }
  if (fd >= 0) close(fd);
  release(&t);
  if (step) {
    throw_errno(env, saved, step, shown);
    return NULL;
  }
  return undefined(env);
}

// link(root, rel, targetRel): void — a hard link; the target is resolved inside the root too.
static napi_value js_link(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  char rel[PATH_MAX], trel[PATH_MAX], shown[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_path(env, argv[2], trel, true)) {
    return NULL;
  }
  strcpy(shown, trel);
  target t;
  if (resolve(root, trel, false, &t) < 0) {
    throw_errno(env, errno, failed_syscall, shown);
    return NULL;
  }
  if (t.base == NULL) {
    throw_errno(env, EPERM, "linkat", shown);  // the root is a directory: no hard link to it
    return NULL;
  }
  struct link_arg a = { .tparent = t.parent, .tbase = t.base };
  int rc;
  napi_value out = create_entry(env, root, rel, do_link, &a, false, &rc);
  release(&t);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metadata operations. These accept the root itself (rel "" or "/") as their object.

enum meta_op { META_CHOWN, META_CHMOD, META_UTIMES, META_XATTR };

struct meta_arg {
  enum meta_op op;
  uint32_t uid, gid, mode;
  struct timespec ts[2];
  bool dir_only;
  const char *name;
  const void *value;
  size_t size;
};

static int meta_on_fd(int fd, struct meta_arg *a) {
  switch (a->op) {
    case META_CHOWN:
      if (fchown(fd, a->uid, a->gid) < 0) FAIL("fchown");
      return 0;
    case META_CHMOD:
      if (fchmod(fd, a->mode) < 0) FAIL("fchmod");
      return 0;
    case META_UTIMES:
      if (futimens(fd, a->ts) < 0) FAIL("futimens");
      return 0;
    case META_XATTR:
      if (fsetxattr(fd, a->name, a->value, a->size, 0) < 0) FAIL("fsetxattr");
      return 0;
  }
  return 0;
}

static int meta_at(int parent, const char *base, struct meta_arg *a) {
  switch (a->op) {
    case META_CHOWN:
      if (fchownat(parent, base, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0) FAIL("fchownat");
      return 0;
    case META_CHMOD:
      // fchmodat2 (Linux 6.6) honours AT_SYMLINK_NOFOLLOW; older kernels get glibc's
      // emulation through an O_PATH fd, which refuses symlinks with EOPNOTSUPP.
      if (syscall(SYS_fchmodat2, parent, base, a->mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
      if (errno != ENOSYS) FAIL("fchmodat2");
      if (fchmodat(parent, base, a->mode, AT_SYMLINK_NOFOLLOW) < 0) FAIL("fchmodat");
      return 0;
    case META_UTIMES:
      if (a->dir_only) {
        struct stat st;
        if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
          if (errno == ENOENT) return 1;
          FAIL("fstatat");
        }
        if (!S_ISDIR(st.st_mode)) return 1;
      }
      if (utimensat(parent, base, a->ts, AT_SYMLINK_NOFOLLOW) < 0) FAIL("utimensat");
      return 0;
    case META_XATTR: {
      // setxattrat (Linux 6.13) is the only way to reach a symlink's own xattrs by (dirfd,
      // name). Without it, non-symlinks go through their O_PATH fd's /proc/self/fd link (an
      // O_PATH open never opens a device); symlinks are refused with EOPNOTSUPP, because
      // lsetxattr on that /proc link would act on the link in procfs, not on ours.
      struct berth_xattr_args xa = { .value = (uintptr_t)a->value, .size = (uint32_t)a->size };
      if (syscall(SYS_setxattrat, parent, base, AT_SYMLINK_NOFOLLOW, a->name, &xa, sizeof xa) == 0) {
        return 0;
      }
      if (errno != ENOSYS) FAIL("setxattrat");
      int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) FAIL("openat");
      struct stat st;
      int ok = fstat(fd, &st) == 0;
      if (!ok || S_ISLNK(st.st_mode)) {
        if (ok) errno = EOPNOTSUPP;
        close_keep_errno(fd, -1);
        FAIL("setxattr");
      }
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
      int rc = setxattr(proc, a->name, a->value, a->size, 0);
      close_keep_errno(fd, -1);
      if (rc < 0) FAIL("setxattr");
      return 0;
    }
  }
  return 0;
}

// Returns 0 on success, 1 when dir_only skipped a non-directory; throws otherwise.
static bool meta(napi_env env, int32_t root, char *rel, struct meta_arg *a, int *result) {
  char shown[PATH_MAX];
  strcpy(shown, rel);
  target t;
  int rc;
  if (resolve(root, rel, false, &t) < 0) {
    rc = -1;
  } else if (t.base == NULL) {
    int fd = open_root_dir(root);
    rc = fd < 0 ? -1 : meta_on_fd(fd, a);
    close_keep_errno(fd, -1);
  } else {
    rc = meta_at(t.parent, t.base, a);
    release(&t);
  }
  if (rc < 0) {
    throw_errno(env, errno, failed_syscall, shown);
    return false;
  }
  *result = rc;
  return true;
}

// lchown(root, rel, uid, gid): void — never follows a final symlink.
static napi_value js_lchown(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t root;
  char rel[PATH_MAX];
  struct meta_arg a = { .op = META_CHOWN };
  int rc;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &a.uid) ||
      !get_u32(env, argv[3], &a.gid) || !meta(env, root, rel, &a, &rc)) {
    return NULL;
  }
  return undefined(env);
}

// chmod(root, rel, mode): void — mode bits incl. setuid/setgid/sticky; refuses symlinks.
static napi_value js_chmod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  char rel[PATH_MAX];
  struct meta_arg a = { .op = META_CHMOD };
  int rc;
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_u32(env, argv[2], &a.mode)) {
    return NULL;
  }
  a.mode &= 07777;
  if (!meta(env, root, rel, &a, &rc)) return NULL;
  return undefined(env);
}

static bool get_times(napi_env env, napi_value *argv, struct timespec ts[2]) {
  int64_t v[4];
  for (int i = 0; i < 4; i++) {
    if (!get_i64(env, argv[i], &v[i])) return false;
  }
  ts[0].tv_sec = v[0];
  ts[0].tv_nsec = v[1];
  ts[1].tv_sec = v[2];
  ts[1].tv_nsec = v[3];
  return true;
}

// utimes(root, rel, atimeSec, atimeNsec, mtimeSec, mtimeNsec, dirOnly): boolean — false when
// dirOnly and the object is no longer a directory (a later entry replaced it) or is gone.
static napi_value js_utimes(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int32_t root;
  char rel[PATH_MAX];
  struct meta_arg a = { .op = META_UTIMES };
  int rc;
  if (!get_args(env, info, 7, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_times(env, argv + 2, a.ts) ||
      napi_get_value_bool(env, argv[6], &a.dir_only) != napi_ok ||
      !meta(env, root, rel, &a, &rc)) {
    return NULL;
  }
  return boolean(env, rc == 0);
}

static bool get_xattr(napi_env env, napi_value *argv, char *name, struct meta_arg *a) {
  if (!get_path(env, argv[0], name, true)) return false;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  void *data;
  if (!is_buffer || napi_get_buffer_info(env, argv[1], &data, &a->size) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "berth_fs: xattr value must be a Buffer");
    return false;
  }
  a->name = name;
  a->value = data;
  return true;
}

// setxattr(root, rel, name, value: Buffer): void — on the object itself, symlinks included.
static napi_value js_setxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t root;
  char rel[PATH_MAX], name[PATH_MAX];
  struct meta_arg a = { .op = META_XATTR };
  int rc;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_xattr(env, argv + 2, name, &a) ||
      !meta(env, root, rel, &a, &rc)) {
    return NULL;
  }
  return undefined(env);
}

// remove(root, rel): void — removes the object and, for a directory, all below it; absent is fine.
static napi_value js_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t root;
  char rel[PATH_MAX], shown[PATH_MAX];
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true)) {
    return NULL;
  }
  strcpy(shown, rel);
  target t;
  if (resolve(root, rel, false, &t) < 0) {
    if (errno == ENOENT) return undefined(env);
    throw_errno(env, errno, failed_syscall, shown);
    return NULL;
  }
  if (t.base == NULL) {
    throw_errno(env, EBUSY, "unlinkat", shown);  // never the root itself
    return NULL;
  }
  int rc = remove_all(t.parent, t.base);
  int saved = errno;
  release(&t);
  if (rc < 0) {
    throw_errno(env, saved, failed_syscall, shown);
    return NULL;
  }
  return undefined(env);
}

// futimes(fd, atimeSec, atimeNsec, mtimeSec, mtimeNsec): void — nanosecond times on an open fd.
static napi_value js_futimes(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd;
  struct meta_arg a = { .op = META_UTIMES };
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &fd) ||
      !get_times(env, argv + 1, a.ts)) {
    return NULL;
  }
  if (meta_on_fd(fd, &a) < 0) {
    throw_errno(env, errno, failed_syscall, "");
    return NULL;
  }
  return undefined(env);
}

// fsetxattr(fd, name, value: Buffer): void
static napi_value js_fsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  char name[PATH_MAX];
  struct meta_arg a = { .op = META_XATTR };
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &fd) ||
      !get_xattr(env, argv + 1, name, &a)) {
    return NULL;
  }
  if (meta_on_fd(fd, &a) < 0) {
    throw_errno(env, errno, failed_syscall, name);
    return NULL;
  }
  return undefined(env);
}

// getxattr(root, rel, name): Buffer | undefined — the object's own xattr (symlinks included),
// undefined when it has none of that name. For checks and for diffing snapshots. With rel "",
// the object `root` itself stands for, of any type (an entry openBeneath opened).
static napi_value js_getxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  char rel[PATH_MAX], name[PATH_MAX], shown[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_path(env, argv[2], name, true)) {
    return NULL;
  }
  strcpy(shown, rel);
  static char value[65536];  // XATTR_SIZE_MAX; single-threaded, like every call here
  target t;
  long n = -1;
  const char *step = "openat2";
  if (resolve(root, rel, false, &t) == 0) {
    if (t.base == NULL) {
      char proc[64];
      step = "getxattr";
      n = getxattr(fd_link(root, proc, sizeof proc), name, value, sizeof value);
    } else {
      struct berth_xattr_args xa = { .value = (uintptr_t)value, .size = sizeof value };
      step = "getxattrat";
      n = syscall(SYS_getxattrat, t.parent, t.base, AT_SYMLINK_NOFOLLOW, name, &xa, sizeof xa);
      if (n < 0 && errno == ENOSYS) {
        // Older kernels: through the O_PATH fd's /proc link, which follows it (symlinks excluded).
        int fd = openat(t.parent, t.base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        step = "getxattr";
        n = fd < 0 ? -1 : getxattr(proc, name, value, sizeof value);
        close_keep_errno(fd, -1);
      }
      release(&t);
    }
  }
  if (n < 0) {
    if (errno == ENODATA) return undefined(env);
    throw_errno(env, errno, step, shown);
    return NULL;
  }
  napi_value out;
  napi_create_buffer_copy(env, (size_t)n, value, NULL, &out);
  return out;
}

#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

// listxattr(root, rel): string[] — names of the object's own xattrs (symlinks included, the
// final symlink not followed), as byte strings. For turning an upper dir into a layer. With rel
// "", the object `root` itself stands for, of any type (an entry openBeneath opened).
static napi_value js_listxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t root;
  char rel[PATH_MAX], shown[PATH_MAX];
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &root) || !get_path(env, argv[1], rel, true)) {
    return NULL;
  }
  strcpy(shown, rel);
  static char list[65536];  // XATTR_LIST_MAX; single-threaded, like every call here
  target t;
  long n = -1;
  const char *step = "openat2";
  if (resolve(root, rel, false, &t) == 0) {
    if (t.base == NULL) {
      char proc[64];
      step = "listxattr";
      n = listxattr(fd_link(root, proc, sizeof proc), list, sizeof list);
    } else {
      step = "listxattrat";
      n = syscall(SYS_listxattrat, t.parent, t.base, AT_SYMLINK_NOFOLLOW, list, sizeof list);
      if (n < 0 && errno == ENOSYS) {
        // Older kernels: through the O_PATH fd's /proc link, which follows it (symlinks excluded).
        int fd = openat(t.parent, t.base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        step = "listxattr";
        n = fd < 0 ? -1 : listxattr(proc, list, sizeof list);
        close_keep_errno(fd, -1);
      }
      release(&t);
    }
  }
  if (n < 0) {
    throw_errno(env, errno, step, shown);
    return NULL;
  }
  napi_value out;
  napi_create_array(env, &out);
  uint32_t count = 0;
  for (long off = 0; off < n;) {
    size_t len = strnlen(list + off, (size_t)(n - off));
    napi_value name;
    napi_create_string_latin1(env, list + off, len, &name);
    napi_set_element(env, out, count++, name);
    off += (long)len + 1;
  }
  return out;
}

#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

// removexattr(root, rel, name): void — removes the object's own xattr (symlinks included, the
// final symlink not followed); one it does not have is not an error. For making a build step's
// upper dir a layer snapshot without overlay's bookkeeping. With rel "", the object `root`
// itself stands for (a directory, or an entry openBeneath opened that is not a symlink).
static napi_value js_removexattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t root;
  char rel[PATH_MAX], name[PATH_MAX], shown[PATH_MAX];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &root) ||
      !get_path(env, argv[1], rel, true) || !get_path(env, argv[2], name, true)) {
    return NULL;
  }
  strcpy(shown, rel);
  target t;
  long n = -1;
  const char *step = "openat2";
  if (resolve(root, rel, false, &t) == 0) {
    if (t.base == NULL) {
      char proc[64];
      step = "removexattr";
      n = removexattr(fd_link(root, proc, sizeof proc), name);
    } else {
      step = "removexattrat";
      n = syscall(SYS_removexattrat, t.parent, t.base, AT_SYMLINK_NOFOLLOW, name);
      if (n < 0 && errno == ENOSYS) {
        // Older kernels (removexattrat is 6.13's): the parent through its descriptor's /proc
        // link, the last component by name and not followed (lremovexattr), so a symlink's own
        // xattrs go too (overlay copies symlinks up with trusted.overlay.origin) and nothing
        // outside the root is reached.
        char at[PATH_MAX];
        int len = snprintf(at, sizeof at, "/proc/self/fd/%d/%s", t.parent, t.base);
        step = "lremovexattr";
        if (len < 0 || len >= (int)sizeof at) errno = ENAMETOOLONG;
        else n = lremovexattr(at, name);
      }
      release(&t);
    }
  }
  if (n < 0 && errno != ENODATA) {
    throw_errno(env, errno, step, shown);
    return NULL;
  }
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------
// Reading a tree that someone else may be changing: a container's writable layer, which commit
// turns into a layer and diff compares. A walk holds a descriptor on each directory it is in and
// opens every entry by name relative to its directory's descriptor, following no symlink at any
// step and crossing no mount. Everything about the entry -- type and metadata (fstat), xattrs
// (getxattr/listxattr with rel ""), link target, content, children -- is then read through that
// one descriptor. A container that swaps a directory for a symlink to / or /etc while it is read
// changes which of its own objects the walk sees; it cannot make the walk read a host file.

// openat2 beneath dirfd: no symlink followed anywhere on the way (the last component neither,
// with O_NOFOLLOW), no ".." above it, no mount crossed.
// With cross_mounts, a mount on the way is entered (a container's volume, seen from its root).
static int open_beneath(int dirfd, const char *path, uint64_t flags, bool cross_mounts) {
  struct open_how how = {
    .flags = flags | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (cross_mounts ? 0 : RESOLVE_NO_XDEV),
  };
  for (int i = 0; i < 64; i++) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return (int)fd;
  }
  return -1;
}

// openBeneath(dirFd, rel[, crossMounts]): number — an O_PATH descriptor on the object at rel itself
// (a symlink stays a symlink), or ELOOP when a directory on the way is a symlink, EXDEV when it is
// a mount (unless crossMounts).
static napi_value js_open_beneath(napi_env env, napi_callback_info info) {
  napi_value argv[3] = { NULL, NULL, NULL };
  int32_t dirfd;
  char rel[PATH_MAX], checked[PATH_MAX];
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &dirfd) || !get_path(env, argv[1], rel, true)) {
    return NULL;
  }
  // The same refusals as every (root, rel) call: "", "." and ".." components.
  char *dir, *base;
  strcpy(checked, rel);
  if (!split(checked, &dir, &base)) {
    throw_errno(env, EINVAL, "path", rel);
    return NULL;
  }
  // Optional third argument: cross mounts (true), else refuse them (EXDEV).
  bool cross_mounts = false;
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 3) napi_get_value_bool(env, argv[2], &cross_mounts);
  int fd = open_beneath(dirfd, rel, O_PATH | O_NOFOLLOW, cross_mounts);
  if (fd < 0) {
    throw_errno(env, errno, "openat2", rel);
    return NULL;
  }
  return int32(env, fd);
}

// openInRoot(root, rel): number — an O_PATH descriptor on what rel names inside root, resolved as
// a chroot at root would resolve it: symlinks are followed, but an absolute target or ".." never
// leaves root (RESOLVE_IN_ROOT). For a volume's subPath, which may pass through the volume's own
// links (a configMap's `key -> ..data/key`) but must not reach the host through one.
static napi_value js_open_in_root(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t root;
  char rel[PATH_MAX];
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &root) || !get_path(env, argv[1], rel, true)) {
    return NULL;
  }
  int fd = open_in_root(root, rel, O_PATH);
  if (fd < 0) {
    throw_errno(env, errno, "openat2", rel);
    return NULL;
  }
  return int32(env, fd);
}

// readDir(fd): string[] — the names in the directory the descriptor holds (O_PATH is fine), as
// byte strings, in directory order, without "." and "..".
static napi_value js_read_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  // O_NOATIME as openRead's: listing a layer's directory leaves its atime as it was.
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
  if (dfd < 0 && errno == EPERM) dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (d == NULL) {
    throw_errno(env, errno, dfd < 0 ? "openat" : "fdopendir", "");
    close_keep_errno(dfd, -1);
    return NULL;
  }
  napi_value out;
  napi_create_array(env, &out);
  uint32_t count = 0;
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    napi_value name;
    napi_create_string_latin1(env, e->d_name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, out, count++, name);
  }
  int saved = errno;
  closedir(d);
  if (saved != 0) {
    throw_errno(env, saved, "readdir", "");
    return NULL;
  }
  return out;
}

// readLink(fd): string — the target of the symlink the O_PATH descriptor holds, as a byte string.
static napi_value js_read_link(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  char target[PATH_MAX];
  ssize_t n = readlinkat(fd, "", target, sizeof target);
  if (n < 0 || n == (ssize_t)sizeof target) {
    throw_errno(env, n < 0 ? errno : ENAMETOOLONG, "readlinkat", "");
    return NULL;
  }
  napi_value out;
  napi_create_string_latin1(env, target, (size_t)n, &out);
  return out;
}

// openRead(fd): number — a read-only descriptor on the regular file the O_PATH descriptor holds,
// reopened through the descriptor's own /proc link: the name is not looked up again, so what is
// read is the file that was looked at, and a device or fifo swapped in is never opened (opening
// one can block or have effects). Anything but a regular file is EINVAL.
static napi_value js_open_read(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  struct stat held, opened;
  if (fstat(fd, &held) < 0) {
    throw_errno(env, errno, "fstat", "");
    return NULL;
  }
  if (!S_ISREG(held.st_mode)) {
    throw_errno(env, EINVAL, "openRead (not a regular file)", "");
    return NULL;
  }
  char proc[64];
  // O_NOATIME: writing a layer reads it without changing it (a settled snapshot's atimes are
  // the tar's, a container's are its own). Only the owner or CAP_FOWNER may: else a plain read.
  int rfd = open(fd_link(fd, proc, sizeof proc), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NOATIME);
  if (rfd < 0 && errno == EPERM) rfd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (rfd < 0) {
    throw_errno(env, errno, "open", proc);
    return NULL;
  }
  int err = fstat(rfd, &opened) < 0 ? errno
            : opened.st_dev != held.st_dev || opened.st_ino != held.st_ino ? ESTALE : 0;
  if (err != 0) {
    close(rfd);
    throw_errno(env, err, "open", proc);
    return NULL;
  }
  return int32(env, rfd);
}

// ---------------------------------------------------------------------------------------------
// Overlay mounts for container root filesystems. These are not confined operations: the agent
// passes its own paths. They use the new mount API because a classic mount(2) takes all options
// in one page, which the lower dirs of an image with dozens of layers overflow; fsconfig takes
// each lower dir on its own ("lowerdir+", Linux 6.8).

#ifndef SYS_fsopen
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#define BERTH_FSOPEN_CLOEXEC 0x00000001
#define BERTH_FSCONFIG_SET_FLAG 0
#define BERTH_FSCONFIG_SET_STRING 1
#define BERTH_FSCONFIG_SET_FD 5
#define BERTH_FSCONFIG_CMD_CREATE 6
#define BERTH_FSMOUNT_CLOEXEC 0x00000001
#define BERTH_MOVE_MOUNT_F_EMPTY_PATH 0x00000004

// The kernel explains a refused overlay in the fs context's log ("e overlay: ..."): keep the last line.
static void fs_context_log(int fsfd, char *out, size_t size) {
  char line[512];
  out[0] = '\0';
  for (;;) {
    ssize_t n = read(fsfd, line, sizeof line - 1);
    if (n <= 0) break;
    line[n] = '\0';
    snprintf(out, size, "%s", line);
  }
}

// fsconfig copies a string value of at most 255 bytes, and a data root nested a few levels deep
// gives a container's upper dir a longer path than that. Such a directory is passed as an open
// descriptor instead (overlay takes layers by descriptor since Linux 6.13).
#define BERTH_FSCONFIG_STRING_MAX 255
static int overlay_dir(int fsfd, const char *key, const char *dir) {
  if (strlen(dir) <= BERTH_FSCONFIG_STRING_MAX) return (int)syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_SET_STRING, key, dir, 0);
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  int rc = (int)syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_SET_FD, key, NULL, dfd);
  int saved = errno;
  close(dfd);
  errno = saved;
  return rc;
}

static bool get_string_array(napi_env env, napi_value arr, char (*out)[PATH_MAX], uint32_t max, uint32_t *count) {
  if (napi_get_array_length(env, arr, count) != napi_ok || *count > max) {
    napi_throw_type_error(env, NULL, "lower dirs must be an array of at most 500 paths");
    return false;
  }
  for (uint32_t i = 0; i < *count; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !get_path(env, v, out[i], false)) return false;
  }
  return true;
}

// mountOverlay(target, lowers: string[] (topmost first), upper: string, work: string,
// volatile?: boolean): void — upper and work may be "" for a read-only overlay of the lowers.
static napi_value js_mount_overlay(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  static _Thread_local char lowers[500][PATH_MAX];
  char target[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
  uint32_t count;
  if (!get_args(env, info, 4, argv) || !get_path(env, argv[0], target, false) ||
      !get_string_array(env, argv[1], lowers, 500, &count) || !get_path(env, argv[2], upper, false) ||
      !get_path(env, argv[3], work, false)) {
    return NULL;
  }
  bool is_volatile = false;
  size_t argc = 5;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 5) napi_get_value_bool(env, argv[4], &is_volatile);
  int fsfd = (int)syscall(SYS_fsopen, "overlay", BERTH_FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    throw_errno(env, errno, "fsopen", target);
    return NULL;
  }
  const char *step = NULL;
  const char *detail = target;
  for (uint32_t i = 0; i < count && !step; i++) {
    if (overlay_dir(fsfd, "lowerdir+", lowers[i]) < 0) {
      step = "fsconfig lowerdir+";
      detail = lowers[i];
    }
  }
  if (!step && upper[0] && overlay_dir(fsfd, "upperdir", upper) < 0) {
    step = "fsconfig upperdir";
    detail = upper;
  }
  if (!step && work[0] && overlay_dir(fsfd, "workdir", work) < 0) {
    step = "fsconfig workdir";
    detail = work;
  }
  // Whatever the module defaults: redirects and metacopy would leave upper-dir entries that only
  // make sense together with these lower dirs, and commit turns the upper dir into a layer.
  if (!step && upper[0] && syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_SET_STRING, "redirect_dir", "off", 0) < 0) step = "fsconfig redirect_dir";
  if (!step && upper[0] && syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_SET_STRING, "metacopy", "off", 0) < 0) step = "fsconfig metacopy";
  // No sync of the upper filesystem at unmount (nor on syncfs): a whole-filesystem sync each
  // time, for a caller that does not need the upper dir to outlive a crash.
  if (!step && upper[0] && is_volatile && syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0) step = "fsconfig volatile";
  if (!step && syscall(SYS_fsconfig, fsfd, BERTH_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) step = "fsconfig create";
  int mfd = -1;
  if (!step) {
    mfd = (int)syscall(SYS_fsmount, fsfd, BERTH_FSMOUNT_CLOEXEC, 0);
    if (mfd < 0) step = "fsmount";
  }
  if (!step && syscall(SYS_move_mount, mfd, "", AT_FDCWD, target, BERTH_MOVE_MOUNT_F_EMPTY_PATH) < 0) step = "move_mount";
  int saved = errno;
  char why[PATH_MAX + 600];
  if (step) {
    char log[512];
    fs_context_log(fsfd, log, sizeof log);
    size_t len = strlen(log);
    if (len > 0 && log[len - 1] == '\n') log[len - 1] = '\0';
    snprintf(why, sizeof why, "%s%s%s", detail, log[0] ? "; kernel: " : "", log);
  }
  if (mfd >= 0) close(mfd);
  close(fsfd);
  if (step) {
    throw_errno(env, saved, step, why);
    return NULL;
  }
  return undefined(env);
}

// unmount(target, detach: boolean): void — umount2, lazily with detach (MNT_DETACH).
static napi_value js_unmount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char target[PATH_MAX];
  bool detach = false;
  if (!get_args(env, info, 2, argv) || !get_path(env, argv[0], target, false)) return NULL;
  napi_get_value_bool(env, argv[1], &detach);
  if (umount2(target, detach ? MNT_DETACH : 0) < 0) {
    throw_errno(env, errno, "umount2", target);
    return NULL;
  }
  return undefined(env);
}

// bindMount(source, targetFd, readonly): number — bind `source` (a host path: a volume's directory
// or file) over what targetFd holds (a mount point opened inside a container's root, symlinks
// resolved there), recursively, read-only through and through if asked. With the mount API: a
// detached copy of the source's mount tree (open_tree), made private and read-only as a whole
// before it is attached (mount_setattr: nothing mounted under it later propagates back to the
// source's peers on the host), then attached onto the descriptor (move_mount: no path is looked up
// again, so nothing the container's files say moves it elsewhere). Returns the tree's descriptor,
// which is the mount's root once attached, for unmountAt.
static napi_value js_bind_mount(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char source[PATH_MAX];
  int32_t target;
  bool readonly = false;
  if (!get_args(env, info, 3, argv) || !get_path(env, argv[0], source, false) || !get_i32(env, argv[1], &target)) return NULL;
  napi_get_value_bool(env, argv[2], &readonly);
  const char *step = NULL;
  int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) step = "open_tree";
  if (!step) {
    struct mount_attr attr = { .attr_set = readonly ? MOUNT_ATTR_RDONLY : 0, .propagation = MS_PRIVATE };
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) step = "mount_setattr";
  }
  if (!step && move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) step = "move_mount";
  if (step) {
    int err = errno;
    // A tree never attached goes with its descriptor.
    if (tree >= 0) close(tree);
    throw_errno(env, err, step, source);
    return NULL;
  }
  return int32(env, tree);
}

// unmountAt(fd): void — unmount the mount whose root the descriptor holds (bindMount's), lazily if
// something still uses it, and close the descriptor.
static napi_value js_unmount_at(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  char at[64];
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
  int rc = umount2(at, 0);
  if (rc < 0 && errno == EBUSY) rc = umount2(at, MNT_DETACH);
  int err = errno;
  close(fd);
  if (rc < 0) {
    throw_errno(env, err, "umount2", at);
    return NULL;
  }
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------
// Network namespaces. A named namespace is a bind mount of some task's /proc/<tid>/ns/net onto a
// file (what `ip netns add` and `unshare --net=FILE` make). Here a short-lived task is cloned
// straight into a new network namespace, sharing our memory and blocking us (CLONE_VM |
// CLONE_VFORK) until it has bind-mounted its namespace and exited: a fraction of a millisecond,
// against several for exec'ing unshare(1). The child only makes raw system calls; it also brings
// the namespace's loopback up, so no CNI loopback plugin needs to run.

struct netns_child_arg {
  const char *target;
  int err;
};

// Bring the new namespace's loopback up (what the CNI loopback plugin does, without its exec).
static int loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int err = 0;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) err = errno;
  else {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) err = errno;
  }
  close(fd);
  return err;
}

static int netns_child(void *p) {
  struct netns_child_arg *arg = p;
  // Before the bind mount: a failure here leaves nothing behind.
  int lo = loopback_up();
  if (lo != 0) {
    arg->err = lo;
    return 1;
  }
  char self[64];
  snprintf(self, sizeof self, "/proc/%ld/ns/net", (long)syscall(SYS_gettid));
  if (mount(self, arg->target, NULL, MS_BIND, NULL) < 0) {
    arg->err = errno;
    return 1;
  }
  arg->err = 0;
  return 0;
}

// createNetns(target): void — target must exist (an empty file).
static napi_value js_create_netns(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char target[PATH_MAX];
  if (!get_args(env, info, 1, argv) || !get_path(env, argv[0], target, false)) return NULL;
  static _Thread_local char stack[64 * 1024] __attribute__((aligned(16)));
  struct netns_child_arg arg = { .target = target, .err = -1 };
  pid_t pid = clone(netns_child, stack + sizeof stack, CLONE_NEWNET | CLONE_VM | CLONE_VFORK | SIGCHLD, &arg);
  if (pid < 0) {
    throw_errno(env, errno, "clone", target);
    return NULL;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (arg.err != 0) {
    throw_errno(env, arg.err > 0 ? arg.err : EIO, "mount", target);
    return NULL;
  }
  return undefined(env);
}


// ---------------------------------------------------------------------------------------------
// Terminals: a pseudo-terminal pair for a foreground `runc exec -t`, its window size, and a bridge
// from conmon's attach socket (SOCK_SEQPACKET, which libuv cannot open) to a stream socket.

// openpty(): [master, slave], both close-on-exec; the caller hands the slave to a child as its
// stdio and closes its own copy.
static napi_value js_open_pty(napi_env env, napi_callback_info info) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    throw_errno(env, errno, "posix_openpt", "/dev/ptmx");
    return NULL;
  }
  char name[128];
  if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    close(master);
    throw_errno(env, err, "unlockpt", "/dev/ptmx");
    return NULL;
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    throw_errno(env, err, "open", name);
    return NULL;
  }
  // Raw: the terminal that matters is the container's own; this one only carries its bytes
  // (no echo, no \n -> \r\n a second time, no signals from control characters).
  struct termios tio;
  if (tcgetattr(slave, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
  }
  napi_value pair;
  napi_create_array_with_length(env, 2, &pair);
  napi_set_element(env, pair, 0, int32(env, master));
  napi_set_element(env, pair, 1, int32(env, slave));
  return pair;
}

// setWinsize(fd, rows, cols): TIOCSWINSZ; the terminal's foreground process group gets SIGWINCH.
static napi_value js_set_winsize(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, rows, cols;
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[1], &rows) || !get_i32(env, argv[2], &cols)) return NULL;
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
    throw_errno(env, errno, "ioctl", "TIOCSWINSZ");
    return NULL;
  }
  return undefined(env);
}

#include <poll.h>
#include <pthread.h>

#define ATTACH_PACKET 8192

// Two threads per bridge, one per direction, so that a blocked send of input to conmon never
// stops its output being read (conmon blocks writing output to its clients: one thread for both
// directions could deadlock with it on a large paste). The descriptors close when both are done.
struct bridge {
  int packets;
  int stream;
  int live; // threads still running; the last one closes both descriptors
  pthread_mutex_t lock;
};

static bool write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

static void bridge_done(struct bridge *b) {
  pthread_mutex_lock(&b->lock);
  int left = --b->live;
  pthread_mutex_unlock(&b->lock);
  if (left > 0) return;
  close(b->packets);
  close(b->stream);
  pthread_mutex_destroy(&b->lock);
  free(b);
}

// conmon -> client: each packet [pipe byte][data] becomes a frame: the pipe byte, the data's
// length (4 bytes, big-endian), the data. At conmon's end (or the client's), the client's side
// is shut for writing and the other thread is woken.
static void *bridge_output(void *arg) {
  struct bridge *b = arg;
  char buf[ATTACH_PACKET + 8];
  for (;;) {
    ssize_t n = recv(b->packets, buf + 4, ATTACH_PACKET + 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    uint32_t len = (uint32_t)(n - 1);
    char head[5] = { buf[4], (char)(len >> 24), (char)(len >> 16), (char)(len >> 8), (char)len };
    if (!write_all(b->stream, head, 5) || !write_all(b->stream, buf + 5, len)) break;
  }
  shutdown(b->stream, SHUT_RDWR);
  bridge_done(b);
  return NULL;
}

// client -> conmon: bytes as packets (the container's stdin). The client's end of input is
// passed on as a half-close; a client gone for good (its socket closed) shuts conmon's side.
static void *bridge_input(void *arg) {
  struct bridge *b = arg;
  char buf[ATTACH_PACKET];
  for (;;) {
    ssize_t n = read(b->stream, buf, ATTACH_PACKET);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (send(b->packets, buf, (size_t)n, MSG_NOSIGNAL) < 0) break;
  }
  shutdown(b->packets, SHUT_WR);
  bridge_done(b);
  return NULL;
}

// attachBridge(socketPath): connects to a SOCK_SEQPACKET socket and returns a SOCK_STREAM
// descriptor that carries its traffic (framed as above), relayed by a thread of its own.
static napi_value js_attach_bridge(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_MAX];
  if (!get_args(env, info, 1, argv) || !get_path(env, argv[0], path, false)) return NULL;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) {
    throw_errno(env, ENAMETOOLONG, "connect", path);
    return NULL;
  }
  strcpy(addr.sun_path, path);
  int packets = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (packets < 0 || connect(packets, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    if (packets >= 0) close(packets);
    throw_errno(env, err, "connect", path);
    return NULL;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    int err = errno;
    close(packets);
    throw_errno(env, err, "socketpair", path);
    return NULL;
  }
  struct bridge *b = malloc(sizeof *b);
  b->packets = packets;
  b->stream = pair[1];
  b->live = 2;
  pthread_mutex_init(&b->lock, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t out_thread, in_thread;
  int err = pthread_create(&out_thread, &attr, bridge_output, b);
  if (err == 0 && pthread_create(&in_thread, &attr, bridge_input, b) != 0) {
    // The output thread runs and will close both when it ends: make it end now.
    err = errno ? errno : EAGAIN;
    pthread_mutex_lock(&b->lock);
    b->live--;
    pthread_mutex_unlock(&b->lock);
    shutdown(packets, SHUT_RDWR);
    pthread_attr_destroy(&attr);
    close(pair[0]);
    throw_errno(env, err, "pthread_create", path);
    return NULL;
  }
  pthread_attr_destroy(&attr);
  if (err != 0) {
    pthread_mutex_destroy(&b->lock);
    free(b);
    close(packets);
    close(pair[0]);
    close(pair[1]);
    throw_errno(env, err, "pthread_create", path);
    return NULL;
  }
  return int32(env, pair[0]);
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "openRoot", js_open_root },
    { "close", js_close },
    { "mkdir", js_mkdir },
    { "mknod", js_mknod },
    { "symlink", js_symlink },
    { "link", js_link },
    { "createFile", js_create_file },
    { "writeFile", js_write_file },
    { "makeDir", js_make_dir },
    { "lchown", js_lchown },
    { "chmod", js_chmod },
    { "utimes", js_utimes },
    { "setxattr", js_setxattr },
    { "remove", js_remove },
    { "futimes", js_futimes },
    { "fsetxattr", js_fsetxattr },
    { "getxattr", js_getxattr },
    { "listxattr", js_listxattr },
    { "removexattr", js_removexattr },
    { "openBeneath", js_open_beneath },
    { "openInRoot", js_open_in_root },
    { "readDir", js_read_dir },
    { "readLink", js_read_link },
    { "openRead", js_open_read },
    { "mountOverlay", js_mount_overlay },
    { "unmount", js_unmount },
    { "bindMount", js_bind_mount },
    { "unmountAt", js_unmount_at },
    { "createNetns", js_create_netns },
    { "openPty", js_open_pty },
    { "setWinsize", js_set_winsize },
    { "attachBridge", js_attach_bridge },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
