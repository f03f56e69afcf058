/*
 * hostile: the native probe fixture. Each subcommand tries to break exactly one line of the
 * OS sandbox (namespaces, seccomp, filesystem view, environment, fds, cgroup limits) and
 * prints one JSON object saying what happened. It is run inside a cell's sandbox or as a
 * process-tier tool; cordon's probes read its report and the kernel's counters.
 *
 *   hostile socket-inet | connect-unix | ptrace | mount | unshare | ifaces
 *   hostile read PATH | write PATH | environ | fds
 *   hostile fork-bomb | mem-hog MIB
 *   hostile flood | sleep | daemon
 *   hostile fill PATH MIB | exec-written DIR
 *   hostile kernel bpf | io_uring_setup | keyctl | perf_event_open | userfaultfd | kexec_load | setns
 *   hostile mknod PATH | caps | setuid DIR | connect-tcp PORT | isolation     (container probes)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

/* Prints {"probe":P,"succeeded":S,"errno":E} — succeeded means the attack got through. */
static int report(const char *probe, int succeeded, int err) {
  printf("{\"probe\":\"%s\",\"succeeded\":%s,\"errno\":%d,\"error\":\"%s\"}\n", probe, succeeded ? "true" : "false", err,
         err ? strerror(err) : "");
  return 0;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int try_socket_inet(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  return report("socket-inet", fd >= 0, fd >= 0 ? 0 : errno);
}

static int try_connect_unix(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return report("connect-unix", 0, errno);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, "/tmp/.cordon-probe.sock", sizeof addr.sun_path - 1);
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  /* ENOENT would mean connect() itself was allowed: only EPERM counts as stopped. */
  return report("connect-unix", r == 0 || errno != EPERM, r == 0 ? 0 : errno);
}

static int try_ptrace(void) {
  long r = ptrace(PTRACE_ATTACH, getppid(), 0, 0);
  return report("ptrace", r == 0, r == 0 ? 0 : errno);
}

static int try_mount(void) {
  int r = mount("none", "/tmp", "tmpfs", 0, "");
  return report("mount", r == 0, r == 0 ? 0 : errno);
}

static int try_unshare(void) {
  int r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
  return report("unshare", r == 0, r == 0 ? 0 : errno);
}

static int list_ifaces(void) {
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) != 0) return report("ifaces", 0, errno);
  int others = 0;
  printf("{\"probe\":\"ifaces\",\"names\":[");
  int first = 1;
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET) continue;
    if (!first) putchar(',');
    json_string(i->ifa_name);
    first = 0;
    if (strcmp(i->ifa_name, "lo") != 0) others++;
  }
  printf("],\"succeeded\":%s,\"errno\":0}\n", others ? "true" : "false");
  freeifaddrs(ifs);
  return 0;
}

static int try_read(const char *path) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return report("read", 0, errno);
  char buf[1];
  ssize_t n = read(fd, buf, 1);
  return report("read", n >= 0, n >= 0 ? 0 : errno);
}

static int try_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0644);
  if (fd < 0) return report("write", 0, errno);
  ssize_t n = write(fd, "pwned\n", 6);
  return report("write", n == 6, n == 6 ? 0 : errno);
}

static int show_environ(void) {
  printf("{\"probe\":\"environ\",\"names\":[");
  for (char **e = environ; *e; e++) {
    char name[256];
    size_t len = strcspn(*e, "=");
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, *e, len);
    name[len] = 0;
    if (e != environ) putchar(',');
    json_string(name);
  }
  /* Also what the kernel holds for this process, which is what /proc/self/environ exposes. */
  int fd = open("/proc/self/environ", O_RDONLY);
  ssize_t total = 0, n;
  char buf[4096];
  while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) total += n;
  if (fd >= 0) close(fd);
  printf("],\"procEnvironBytes\":%zd,\"succeeded\":false,\"errno\":0}\n", total);
  return 0;
}

static int list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return report("fds", 0, errno);
  int self = dirfd(d);
  printf("{\"probe\":\"fds\",\"fds\":[");
  int first = 1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self) continue;
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("%s{\"fd\":%d,\"target\":", first ? "" : ",", fd);
    json_string(target);
    putchar('}');
    first = 0;
  }
  closedir(d);
  printf("],\"succeeded\":false,\"errno\":0}\n");
  return 0;
}

static int fork_bomb(void) {
  int forked = 0, err = 0;
  setpgid(0, 0); /* its own process group, so the clean-up below hits only the bomb */
  for (int i = 0; i < 100000; i++) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p < 0) {
      err = errno;
      break;
    }
    forked++;
  }
  printf("{\"probe\":\"fork-bomb\",\"forked\":%d,\"succeeded\":%s,\"errno\":%d}\n", forked, err ? "false" : "true", err);
  fflush(stdout);
  kill(0, SIGKILL); /* take the children (and ourselves) down; the cgroup is destroyed after */
  return 0;
}

static int mem_hog(long mib) {
  long touched = 0;
  for (long i = 0; i < mib; i++) {
    char *p = malloc(1 << 20);
    if (!p) break;
    memset(p, 0x5a, 1 << 20);
    touched++;
  }
  /* Reaching here means the limit did not stop us. */
  printf("{\"probe\":\"mem-hog\",\"mib\":%ld,\"succeeded\":%s,\"errno\":0}\n", touched, touched >= mib ? "true" : "false");
  return 0;
}

/* Writes to stdout forever: the output cap must stop it. */
static int flood(void) {
  static char buf[65536];
  memset(buf, 'A', sizeof buf);
  for (;;) {
    if (write(1, buf, sizeof buf) < 0) return 1;
  }
}

/*
 * One call into kernel attack surface the seccomp table denies, with harmless arguments (each
 * would fail with EINVAL/EBADF/EFAULT if it were allowed): only EPERM counts as stopped.
 */
static int try_kernel(const char *name) {
  long r;
  if (!strcmp(name, "bpf")) r = syscall(SYS_bpf, 0xffff, NULL, 0);
  else if (!strcmp(name, "io_uring_setup")) r = syscall(SYS_io_uring_setup, 0, NULL);
  else if (!strcmp(name, "keyctl")) r = syscall(SYS_keyctl, 0xffff, 0, 0, 0, 0);
  else if (!strcmp(name, "perf_event_open")) r = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  else if (!strcmp(name, "userfaultfd")) r = syscall(SYS_userfaultfd, 1);
  else if (!strcmp(name, "kexec_load")) r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
  else if (!strcmp(name, "setns")) r = syscall(SYS_setns, -1, 0);
  else {
    fprintf(stderr, "hostile: unknown kernel call '%s'\n", name);
    return 64;
  }
  int err = r < 0 ? errno : 0;
  if (r >= 0) close((int)r);
  return report(name, r >= 0 || err != EPERM, err);
}

/* Writes files PATH.0, PATH.1, ... of up to 8 MiB each until MIB are written or a write fails. */
static int fill(const char *path, long mib) {
  signal(SIGXFSZ, SIG_IGN);
  static char chunk[65536];
  memset(chunk, 'x', sizeof chunk);
  long long want = (long long)mib << 20, done = 0;
  int err = 0;
  for (int i = 0; done < want && !err; i++) {
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s.%d", path, i);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { err = errno; break; }
    for (long long in_file = 0; in_file < (8LL << 20) && done < want;) {
      ssize_t n = write(fd, chunk, sizeof chunk);
      if (n < 0) { err = errno; break; }
      in_file += n;
      done += n;
    }
    close(fd);
  }
  printf("{\"probe\":\"fill\",\"succeeded\":%s,\"errno\":%d,\"bytes\":%lld}\n", done >= want ? "true" : "false", err, done);
  return 0;
}

/* Copies this very binary into DIR and tries to run the copy: a tool running what it wrote. */
static int exec_written(const char *dir) {
  char target[PATH_MAX];
  snprintf(target, sizeof target, "%s/copied-tool", dir);
  int in = open("/proc/self/exe", O_RDONLY);
  int out = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (in < 0 || out < 0) return report("exec-written", 0, errno);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) {
    if (write(out, buf, (size_t)n) != n) return report("exec-written", 0, errno);
  }
  close(in);
  close(out);
  pid_t p = fork();
  if (p < 0) return report("exec-written", 0, errno);
  if (p == 0) {
    char *args[] = {target, "exit-zero", NULL};
    execv(target, args);
    _exit(100 + (errno & 0x3f));
  }
  int status = 0;
  waitpid(p, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return report("exec-written", code == 0, code >= 100 ? code - 100 : 0);
}

/* Never finishes: the wall-clock deadline must stop it. */
static int sleep_forever(void) {
  for (;;) pause();
  return 0;
}

/* Leaves a detached child behind (new session, own process group) and exits at once. */
static int daemonize(void) {
  pid_t p = fork();
  if (p < 0) return report("daemon", 0, errno);
  if (p == 0) {
    setsid();
    close(0);
    close(1);
    close(2);
    for (;;) pause();
  }
  printf("{\"probe\":\"daemon\",\"child\":%d,\"succeeded\":true,\"errno\":0}\n", (int)p);
  return 0;
}

/* A character device node (/dev/null's numbers): only CAP_MKNOD in the host's namespace may. */
static int try_mknod(const char *path) {
  int r = mknod(path, S_IFCHR | 0666, makedev(1, 3));
  return report("mknod", r == 0, r == 0 ? 0 : errno);
}

/* Every capability set of this process, in hex; any bit set is a capability held. */
static int show_caps(const char *probe) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return report(probe, 0, errno);
  char line[256];
  unsigned long long any = 0;
  int uid = -1, euid = -1;
  printf("{\"probe\":\"%s\"", probe);
  while (fgets(line, sizeof line, f)) {
    char name[16];
    unsigned long long v;
    if (sscanf(line, "Cap%15[^:]:\t%llx", name, &v) == 2) {
      printf(",\"cap%s\":\"%llx\"", name, v);
      any |= v;
    }
    if (sscanf(line, "Uid:\t%d\t%d", &uid, &euid) == 2) printf(",\"uid\":%d,\"euid\":%d", uid, euid);
  }
  fclose(f);
  printf(",\"succeeded\":%s,\"errno\":0}\n", any ? "true" : "false");
  return 0;
}

/* Copies this program into DIR, makes it setuid, runs it: privilege gained would show as capabilities. */
static int try_setuid(const char *dir) {
  char dst[PATH_MAX];
  snprintf(dst, sizeof dst, "%s/.cordon-suid", dir);
  int in = open("/proc/self/exe", O_RDONLY);
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (in < 0 || out < 0) return report("setuid", 0, errno);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) return report("setuid", 0, errno);
  close(in);
  close(out);
  if (chmod(dst, 04755) != 0) return report("setuid", 0, errno);
  fflush(stdout);
  execl(dst, dst, "caps-as", "setuid", (char *)NULL);
  return report("setuid", 0, errno);
}

/* A TCP connection to a port on 127.0.0.1, where the probe's host listener waits. */
static int try_connect_tcp(const char *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return report("connect-tcp", 0, errno);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(fd, (struct sockaddr *)&a, sizeof a);
  return report("connect-tcp", r == 0, r == 0 ? 0 : errno);
}

/* What kernel answers, and which processes this one can see. */
static int isolation(void) {
  struct utsname u;
  uname(&u);
  int procs = 0;
  DIR *d = opendir("/proc");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9') procs++;
    closedir(d);
  }
  printf("{\"probe\":\"isolation\",\"release\":");
  json_string(u.release);
  printf(",\"version\":");
  json_string(u.version);
  printf(",\"pid\":%d,\"procs\":%d,\"succeeded\":false,\"errno\":0}\n", (int)getpid(), procs);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *cmd = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "";
  if (!strcmp(cmd, "socket-inet")) return try_socket_inet();
  if (!strcmp(cmd, "connect-unix")) return try_connect_unix();
  if (!strcmp(cmd, "ptrace")) return try_ptrace();
  if (!strcmp(cmd, "mount")) return try_mount();
  if (!strcmp(cmd, "unshare")) return try_unshare();
  if (!strcmp(cmd, "ifaces")) return list_ifaces();
  if (!strcmp(cmd, "read")) return try_read(arg);
  if (!strcmp(cmd, "write")) return try_write(arg);
  if (!strcmp(cmd, "environ")) return show_environ();
  if (!strcmp(cmd, "fds")) return list_fds();
  if (!strcmp(cmd, "fork-bomb")) return fork_bomb();
  if (!strcmp(cmd, "mem-hog")) return mem_hog(atol(arg));
  if (!strcmp(cmd, "flood")) return flood();
  if (!strcmp(cmd, "sleep")) return sleep_forever();
  if (!strcmp(cmd, "daemon")) return daemonize();
  if (!strcmp(cmd, "kernel")) return try_kernel(arg);
  if (!strcmp(cmd, "fill")) return fill(arg, argc > 3 ? atol(argv[3]) : 1);
  if (!strcmp(cmd, "exec-written")) return exec_written(arg);
  if (!strcmp(cmd, "exit-zero")) return 0;
  if (!strcmp(cmd, "mknod")) return try_mknod(arg);
  if (!strcmp(cmd, "caps")) return show_caps("caps");
  if (!strcmp(cmd, "caps-as")) return show_caps(arg);
  if (!strcmp(cmd, "setuid")) return try_setuid(arg);
  if (!strcmp(cmd, "connect-tcp")) return try_connect_tcp(arg);
  if (!strcmp(cmd, "isolation")) return isolation();
  fprintf(stderr, "hostile: unknown probe '%s'\n", cmd);
  return 64;
}
