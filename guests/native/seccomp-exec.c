/*
 * cordon-seccomp-exec: the first program inside a sandbox, and the last trusted one. It installs
 * cordon's seccomp program with a user-notification listener, hands the listener to the
 * supervisor outside the sandbox (cordon-launch --supervise), and execs the tool. From then on
 * every call the rule table denies stops in the kernel until the supervisor answers EPERM and
 * tells the control plane, which records it: a denial is never silent.
 *
 *   cordon-seccomp-exec FILTER_FD NOTIFY_FD [--keep-pwd] -- PROGRAM ARGS...
 *
 * FILTER_FD holds the struct sock_filter[] compiled by src/sandbox/seccomp/compile-filter.ts,
 * read to EOF. NOTIFY_FD is this sandbox's end of a socket pair whose other end the supervisor
 * holds. Both are closed before exec. bubblewrap sets PWD after --chdir; unless --keep-pwd is
 * given (the process tier lists PWD in its environment), it is removed, so the environment is
 * exactly what the plan says. Any failure exits 71 before the tool runs: the tool never runs
 * without its filter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 4096

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "cordon-seccomp-exec: unsupported architecture"
#endif

static int fail(const char *what) {
  fprintf(stderr, "cordon-seccomp-exec: %s: %s\n", what, strerror(errno));
  return 71;
}

static int parse_fd(const char *s) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || !end || *end || end == s || v < 0 || v > 1024) return -1;
  return (int)v;
}

static int send_fd(int sock, int fd) {
  char byte = 'L';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: cordon-seccomp-exec FILTER_FD NOTIFY_FD [--keep-pwd] -- PROGRAM ARGS...\n");
    return 64;
  }
  int filter_fd = parse_fd(argv[1]);
  int notify_fd = parse_fd(argv[2]);
  int i = 3;
  int keep_pwd = 0;
  if (!strcmp(argv[i], "--keep-pwd")) {
    keep_pwd = 1;
    i++;
  }
  if (filter_fd < 0 || notify_fd < 0 || i >= argc || strcmp(argv[i], "--") || i + 1 >= argc) {
    fprintf(stderr, "cordon-seccomp-exec: bad arguments\n");
    return 64;
  }
  i++;

  static struct sock_filter insns[MAX_INSNS + 1];
  size_t got = 0;
  const size_t cap = sizeof(insns);
  for (;;) {
    ssize_t n = read(filter_fd, (char *)insns + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("reading the filter");
    if (n == 0) break;
    got += (size_t)n;
    if (got == cap) {
      fprintf(stderr, "cordon-seccomp-exec: filter longer than %d instructions\n", MAX_INSNS);
      return 71;
    }
  }
  close(filter_fd);
  if (got == 0 || got % sizeof(struct sock_filter) != 0) {
    fprintf(stderr, "cordon-seccomp-exec: filter of %zu bytes is not a whole program\n", got);
    return 71;
  }
  struct sock_fprog prog = {.len = (unsigned short)(got / sizeof(struct sock_filter)), .filter = insns};
  /* cordon's programs open with "A = arch; if A == native ...". One built for another arch
     would send this very process's next call (the hand-over) to a listener nobody reads yet. */
  if (prog.len < 2 || insns[0].code != (BPF_LD | BPF_W | BPF_ABS) || insns[0].k != 4 || insns[1].code != (BPF_JMP | BPF_JEQ | BPF_K) ||
      insns[1].k != NATIVE_ARCH) {
    fprintf(stderr, "cordon-seccomp-exec: the filter does not start with this architecture's ABI check\n");
    return 71;
  }

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("PR_SET_NO_NEW_PRIVS");
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (listener < 0) return fail("installing the filter with a listener");
  // From here on the filter holds: only allowed calls below (sendmsg on AF_UNIX, close, execve).
  if (send_fd(notify_fd, (int)listener) != 0) return fail("handing the listener to the supervisor");
  close((int)listener);
  close(notify_fd);
  if (!keep_pwd) unsetenv("PWD");
  execv(argv[i], &argv[i]);
  return fail("exec");
}
