/*
 * cordon-launch: the last step before bwrap. Node's child_process does not close file
 * descriptors a parent left open without O_CLOEXEC, and bwrap passes every open fd into the
 * sandbox. This closes every fd except 0-2 and the ones named, sets resource limits, then
 * execs the sandbox. Never a shell.
 *
 *   cordon-launch [--keep N]... [--cgroup-procs FILE]... [--nofile N] [--fsize BYTES] [--core 0]
 *                 -- PROGRAM ARGS...
 *
 * --cgroup-procs joins a cgroup (v1 cgroup.procs, delegated to our uid) before exec, so every
 * page the sandbox ever touches is charged to the cell's own cgroup, from its first instruction.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_KEEP 16

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

int main(int argc, char **argv) {
  int keep[MAX_KEEP];
  int nkeep = 0;
  int i = 1;
  for (; i < argc; i++) {
    unsigned long long v;
    if (!strcmp(argv[i], "--")) { i++; break; }
    if (!strcmp(argv[i], "--cgroup-procs") && i + 1 < argc) {
      FILE *f = fopen(argv[i + 1], "w");
      if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
        perror("cordon-launch: joining the cell's cgroup");
        return 71;
      }
      i++;
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
    } else {
      fprintf(stderr, "cordon-launch: unknown option %s\n", argv[i]);
      return 64;
    }
    i++;
  }
  if (i >= argc) { fprintf(stderr, "cordon-launch: no program\n"); return 64; }

  DIR *d = opendir("/proc/self/fd");
  if (!d) { perror("cordon-launch: /proc/self/fd"); return 71; }
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

  execvp(argv[i], &argv[i]);
  perror("cordon-launch: exec");
  return 127;
}
