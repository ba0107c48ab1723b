/*
 * enospc.c — a full disk on demand, for tests: an LD_PRELOAD library.
 *
 * While the file $ENOSPC_FLAG exists, every call that would store bytes in a
 * file under the directory $ENOSPC_DIR fails with ENOSPC: write, pwrite,
 * pwrite64, writev, pwritev, fallocate, posix_fallocate, and ftruncate when
 * it grows the file. Other files (the daemon's log, sockets, pipes) are left
 * alone, and once the flag file is gone every write goes through again, so a
 * test can fill and free the disk of one running process without root,
 * mounts or a real full file system. Stores into memory maps (SQLite's -shm
 * index) are not system calls and pass; growing that file is caught.
 *
 * ENOSPC_DIR must be an absolute path without symbolic links: open files are
 * matched by their /proc/self/fd link.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);

/* Resolved once, before any thread of the process starts. */
__attribute__((constructor)) static void resolve(void) {
  real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
  real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
  real_pwritev = (ssize_t(*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
  real_fallocate = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
  real_posix_fallocate = (int (*)(int, off_t, off_t))dlsym(RTLD_NEXT, "posix_fallocate");
  real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
  real_ftruncate64 = (int (*)(int, off64_t))dlsym(RTLD_NEXT, "ftruncate64");
}

/* Is the disk "full" for fd: the flag file exists and fd is a file under the directory? */
static bool full_for(int fd) {
  const char *flag = getenv("ENOSPC_FLAG");
  const char *dir = getenv("ENOSPC_DIR");
  if (flag == NULL || dir == NULL || access(flag, F_OK) != 0) return false;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n < 0) return false;
  target[n] = '\0';
  size_t len = strlen(dir);
  return strncmp(target, dir, len) == 0 && target[len] == '/';
}

/* The call would add bytes to a file that ends before `end`. */
static bool grows(int fd, off_t end) {
  struct stat st;
  return fstat(fd, &st) == 0 && end > st.st_size;
}

#define REFUSE_IF_FULL(fd, fail) \
  do {                           \
    if (full_for(fd)) {          \
      errno = ENOSPC;            \
      return fail;               \
    }                            \
  } while (0)

ssize_t write(int fd, const void *buf, size_t n) {
  REFUSE_IF_FULL(fd, -1);
  return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at) {
  REFUSE_IF_FULL(fd, -1);
  return real_pwrite(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t at) {
  REFUSE_IF_FULL(fd, -1);
  return real_pwrite64(fd, buf, n, at);
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  REFUSE_IF_FULL(fd, -1);
  return real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t at) {
  REFUSE_IF_FULL(fd, -1);
  return real_pwritev(fd, iov, n, at);
}

int fallocate(int fd, int mode, off_t at, off_t len) {
  REFUSE_IF_FULL(fd, -1);
  return real_fallocate(fd, mode, at, len);
}

/* posix_fallocate reports its error as the return value, not in errno. */
int posix_fallocate(int fd, off_t at, off_t len) {
  if (full_for(fd)) return ENOSPC;
  return real_posix_fallocate(fd, at, len);
}

int ftruncate(int fd, off_t len) {
  if (grows(fd, len)) REFUSE_IF_FULL(fd, -1);
  return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off64_t len) {
  if (grows(fd, len)) REFUSE_IF_FULL(fd, -1);
  return real_ftruncate64(fd, len);
}
