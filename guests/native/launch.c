/*
 * cordon-launch: the last step before bwrap. Node's child_process does not close file
 * descriptors a parent left open without O_CLOEXEC, and bwrap passes every open fd into the
 * sandbox. This closes every fd except 0-2 and the ones named, sets resource limits, then
 * execs the sandbox. Never a shell.
 *
 *   cordon-launch [--keep N]... [--cgroup-procs FILE]... [--nofile N] [--fsize BYTES] [--core 0]
 *                 [--supervise EVENTS_FD --notify-fd N [--subreaper]] -- PROGRAM ARGS...
 *
 * --cgroup-procs joins a cgroup (v1 cgroup.procs, delegated to our uid) before exec, so every
 * page the sandbox ever touches is charged to the cell's own cgroup, from its first instruction.
 *
 * --supervise: fork. The child goes on to exec PROGRAM (bwrap) holding one end of a socket pair
 * at fd N, through which cordon-seccomp-exec, inside the sandbox, hands back the listener of the
 * seccomp filter it installs. The parent stays outside the sandbox as its seccomp supervisor:
 * it answers every notified call with EPERM (never with CONTINUE: arguments in guest memory can
 * change under a supervisor, so a notification only ever becomes a denial), and writes one line
 * per denial to EVENTS_FD for the control plane to record:
 *
 *   D <nr> <arch, hex> <pid>    denied with EPERM
 *   K <nr> <arch, hex> <pid>    a call through a foreign ABI (i386 int 0x80): the sandbox is killed
 *   X <reason>                  the listener never arrived (the sandbox then never ran the tool)
 *   C <status>                  --subreaper only: PROGRAM itself exited with <status>
 *
 * --subreaper (an OCI runtime's `create`, which leaves the container running when it exits):
 * the supervisor is made a child subreaper, so the container's first process is reparented to
 * it when PROGRAM exits. It then reports "C <status>", keeps answering the listener until every
 * filtered task is gone, reaps what is left and exits with the status of the last process it
 * reaped (the container's own), so the caller sees the container's outcome as its exit.
 *
 * It exits with its child's status (re-raising a signal), so the caller sees bwrap's outcome.
 * The supervisor dies with its parent, and bwrap (--die-with-parent) with the supervisor.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_KEEP 16
#define MAX_CGROUPS 8

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "cordon-launch: unsupported architecture"
#endif

static int parse_num(const char *s, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end || end == s) return -1;
  *out = v;
  return 0;
}

static int set_limit(int resource, unsigned long long v) {
  struct rlimit rl = {.rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)v};
  return setrlimit(resource, &rl);
}

/* Closes every fd above 2 that is not listed in keep[]. */
static int close_others(const int *keep, int nkeep) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int self = dirfd(d);
  int doomed[4096];
  int ndoomed = 0;
  struct dirent *e;
  while ((e = readdir(d)) && ndoomed < 4096) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd <= 2 || fd == self) continue;
    int kept = 0;
    for (int k = 0; k < nkeep; k++) kept |= keep[k] == fd;
    if (!kept) doomed[ndoomed++] = fd;
  }
  closedir(d);
  for (int k = 0; k < ndoomed; k++) close(doomed[k]);
  return 0;
}

static void event(int fd, const char *line) {
  size_t len = strlen(line);
  while (len > 0) {
    ssize_t n = write(fd, line, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the control plane is gone; the sandbox dies with us soon */
    line += n;
    len -= (size_t)n;
  }
}

static int recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static int exit_like(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    prctl(PR_SET_DUMPABLE, 0);
    kill(getpid(), sig);
    return 128 + sig;
  }
  return 70;
}

/* Answers one notification: EPERM, or for a foreign ABI, no answer and the sandbox killed. */
static void answer(int listener, int events, struct seccomp_notif *req, size_t req_size, struct seccomp_notif_resp *resp, size_t resp_size, pid_t child) {
  memset(req, 0, req_size);
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) return; /* the caller died meanwhile (ENOENT) or EINTR */
  char line[96];
  if (req->data.arch != NATIVE_ARCH) {
    snprintf(line, sizeof(line), "K %d %x %u\n", req->data.nr, req->data.arch, req->pid);
    event(events, line);
    /* No answer: the caller dies in the call (SIGKILL ends a task blocked on a notification
       without returning to it), then its whole sandbox. Killing only bwrap would let us exit
       first, and a closed listener would hand the caller ENOSYS on the way out. */
    kill((pid_t)req->pid, SIGKILL);
    kill(child, SIGKILL);
    return;
  }
  memset(resp, 0, resp_size);
  resp->id = req->id;
  resp->error = -EPERM;
  resp->val = 0;
  resp->flags = 0;
  snprintf(line, sizeof(line), "D %d %x %u\n", req->data.nr, req->data.arch, req->pid);
  event(events, line);
  while (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno == EINTR) {
  }
}

static int reap_all(void) {
  int status = 0, last = -1;
  for (;;) {
    pid_t p = waitpid(-1, &status, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: nothing left */
    }
    last = status;
  }
  return last < 0 ? 70 : exit_like(last);
}

static int supervise(pid_t child, int sock, int events, int subreaper) {
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_DUMPABLE, 0);
  int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  if (pidfd < 0) {
    event(events, "X pidfd_open failed\n");
    kill(child, SIGKILL);
  }
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    event(events, "X no seccomp notification support\n");
    kill(child, SIGKILL);
    sizes.seccomp_notif = sizeof(struct seccomp_notif);
    sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
  }
  size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
  struct seccomp_notif *req = calloc(1, req_size);
  struct seccomp_notif_resp *resp = calloc(1, resp_size);
  if (!req || !resp) kill(child, SIGKILL);
  /* listener: -1 while waiting for it on `sock`, an fd once handed over, -2 when there is none. */
  int listener = -1;
  int direct_done = 0;
  while (pidfd >= 0 || (direct_done && listener != -2)) {
    struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    p[1].fd = listener >= 0 ? listener : (listener == -1 ? sock : -1);
    nfds_t np = p[1].fd >= 0 ? 2 : 1;
    int r = poll(p, np, -1); /* pidfd -1 after the direct child exited: poll ignores it */
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (np == 2 && p[1].revents != 0) {
      if (listener >= 0) {
        if (p[1].revents & POLLIN) {
          if (req && resp) answer(listener, events, req, req_size, resp, resp_size, child);
        } else {
          close(listener); /* every filtered task is gone */
          listener = -2;
        }
      } else {
        listener = recv_fd(sock);
        close(sock);
        sock = -1;
        if (listener < 0) {
          listener = -2;
          event(events, "X the sandbox did not hand over a seccomp listener\n");
        }
      }
    }
    if (pidfd >= 0 && p[0].revents != 0) {
      if (!subreaper) break;
      int st = 0;
      while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
      }
      char line[32];
      snprintf(line, sizeof(line), "C %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0));
      event(events, line);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return exit_like(st);
      close(pidfd);
      pidfd = -1;
      direct_done = 1;
    }
  }
  if (subreaper) return reap_all();
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 70;
  }
  return exit_like(status);
}

int main(int argc, char **argv) {
  int keep[MAX_KEEP + 1];
  int nkeep = 0;
  const char *cgroups[MAX_CGROUPS];
  int ncgroups = 0;
  long long events_fd = -1;
  long long notify_fd = -1;
  int subreaper = 0;
  int i = 1;
  for (; i < argc; i++) {
    unsigned long long v;
    if (!strcmp(argv[i], "--")) { i++; break; }
    if (!strcmp(argv[i], "--subreaper")) {
      subreaper = 1;
      continue;
    }
    if (!strcmp(argv[i], "--cgroup-procs") && i + 1 < argc) {
      if (ncgroups == MAX_CGROUPS) return 64;
      cgroups[ncgroups++] = argv[++i];
      continue;
    }
    if (i + 1 >= argc || parse_num(argv[i + 1], &v) != 0) { fprintf(stderr, "cordon-launch: bad argument %s\n", argv[i]); return 64; }
    if (!strcmp(argv[i], "--keep")) {
      if (nkeep == MAX_KEEP) return 64;
      keep[nkeep++] = (int)v;
    } else if (!strcmp(argv[i], "--nofile")) {
      if (set_limit(RLIMIT_NOFILE, v) != 0) { perror("cordon-launch: RLIMIT_NOFILE"); return 71; }
    } else if (!strcmp(argv[i], "--fsize")) {
      if (set_limit(RLIMIT_FSIZE, v) != 0) { perror("cordon-launch: RLIMIT_FSIZE"); return 71; }
    } else if (!strcmp(argv[i], "--core")) {
      if (set_limit(RLIMIT_CORE, v) != 0) { perror("cordon-launch: RLIMIT_CORE"); return 71; }
    } else if (!strcmp(argv[i], "--supervise")) {
      events_fd = (long long)v;
    } else if (!strcmp(argv[i], "--notify-fd")) {
      notify_fd = (long long)v;
    } else {
      fprintf(stderr, "cordon-launch: unknown option %s\n", argv[i]);
      return 64;
    }
    i++;
  }
  if (i >= argc) { fprintf(stderr, "cordon-launch: no program\n"); return 64; }
  if ((events_fd < 0) != (notify_fd < 0) || events_fd > 1024 || notify_fd > 1024) {
    fprintf(stderr, "cordon-launch: --supervise and --notify-fd go together\n");
    return 64;
  }

  /* The supervisor is in the cell's cgroup too: killing the cgroup kills it, and its death
     takes the sandbox with it (bwrap --die-with-parent). */
  for (int c = 0; c < ncgroups; c++) {
    FILE *f = fopen(cgroups[c], "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
      perror("cordon-launch: joining the cell's cgroup");
      return 71;
    }
  }

  if (subreaper && events_fd < 0) {
    fprintf(stderr, "cordon-launch: --subreaper goes with --supervise\n");
    return 64;
  }
  if (events_fd >= 0) {
    if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) { perror("cordon-launch: PR_SET_CHILD_SUBREAPER"); return 71; }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) { perror("cordon-launch: socketpair"); return 71; }
    pid_t child = fork();
    if (child < 0) { perror("cordon-launch: fork"); return 71; }
    if (child > 0) {
      close(sv[1]);
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1) { kill(child, SIGKILL); return 71; }
      int null = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0) { dup2(null, 0); dup2(null, 1); }
      int mine[2] = {(int)events_fd, sv[0]};
      close_others(mine, 2);
      return supervise(child, sv[0], (int)events_fd, subreaper);
    }
    close(sv[0]);
    close((int)events_fd);
    if (dup2(sv[1], (int)notify_fd) < 0 || fcntl((int)notify_fd, F_SETFD, 0) != 0) { perror("cordon-launch: dup2"); return 71; }
    if (sv[1] != (int)notify_fd) close(sv[1]);
    keep[nkeep++] = (int)notify_fd;
    for (int k = 0; k < nkeep; k++) if (keep[k] == (int)events_fd) keep[k] = -1;
  }

  if (close_others(keep, nkeep) != 0) { perror("cordon-launch: /proc/self/fd"); return 71; }
  execvp(argv[i], &argv[i]);
  perror("cordon-launch: exec");
  return 127;
}
