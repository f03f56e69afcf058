// A hostile test program for the live tests: run inside bwrap, it tries every syscall the rule
// table denies (and a few it must allow) and prints {probe: "OK" | errno name} as JSON.
//
// Independence: a probe calls glibc's own wrapper where glibc has one (so the number comes from
// glibc, not from cordon's table); the rest use the raw numbers below, kept apart from
// syscall-table.ts on purpose. Arguments are chosen so that, without the filter, the kernel
// answers something other than EPERM where it can (EBADF, EINVAL, ENOENT, or success), which
// lets the test tell "the filter denied it" from "the sandbox would have refused anyway". Each
// call is harmless if it were allowed: bad magic for reboot, nonexistent paths, invalid clone
// flag combinations that the kernel rejects before forking.

export const SYSCALL_PROBE = String.raw`
import ctypes, errno, json, os, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long

NR = {
    "x86_64": dict(socket=41, clone=56, getpid=39, pivot_root=155, iopl=172, uselib=134,
                   lookup_dcookie=212, kexec_load=246, add_key=248, request_key=249, keyctl=250,
                   init_module=175, delete_module=176, reboot=169, perf_event_open=298,
                   finit_module=313, kexec_file_load=320, bpf=321, userfaultfd=323,
                   io_uring_setup=425, io_uring_enter=426, io_uring_register=427, clone3=435,
                   pidfd_getfd=438, process_madvise=440, quotactl_fd=443, seccomp=317),
    "aarch64": dict(socket=198, clone=220, getpid=172, pivot_root=41,
                    lookup_dcookie=18, kexec_load=104, add_key=217, request_key=218, keyctl=219,
                    init_module=105, delete_module=106, reboot=142, perf_event_open=241,
                    finit_module=273, kexec_file_load=294, bpf=280, userfaultfd=282,
                    io_uring_setup=425, io_uring_enter=426, io_uring_register=427, clone3=435,
                    pidfd_getfd=438, process_madvise=440, quotactl_fd=443, seccomp=277),
}[os.uname().machine]

CLONE_THREAD = 0x00010000  # without CLONE_SIGHAND: EINVAL before any fork happens
NS = dict(NEWNS=0x00020000, NEWCGROUP=0x02000000, NEWUTS=0x04000000, NEWIPC=0x08000000,
          NEWUSER=0x10000000, NEWPID=0x20000000, NEWNET=0x40000000)
NOWHERE = b"/nonexistent-cordon-probe"

def raw(name, *args):
    conv = [L(a) if isinstance(a, int) else a for a in args]
    return lambda: libc.syscall(L(NR[name]), *conv)

out = {}

def probe(name, call, fd=False):
    ctypes.set_errno(0)
    value = call()
    if value >= 0:
        out[name] = "OK"
        if fd:
            os.close(value)
    else:
        e = ctypes.get_errno()
        out[name] = errno.errorcode.get(e, str(e))
    return value

pair = (ctypes.c_int * 2)()
def socketpair(domain):
    def call():
        r = libc.socketpair(domain, 1, 0, pair)
        if r == 0:
            os.close(pair[0]); os.close(pair[1])
        return r
    return call

# network
probe("socket_inet", lambda: libc.socket(2, 1, 0), fd=True)
probe("socket_inet6", lambda: libc.socket(10, 1, 0), fd=True)
probe("socket_netlink", lambda: libc.socket(16, 3, 0), fd=True)
probe("socket_unix", lambda: libc.socket(1, 1, 0), fd=True)
probe("socket_unix_high_word", raw("socket", (1 << 32) | 1, 1, 0), fd=True)
probe("socketpair_unix", socketpair(1))
probe("socketpair_inet", socketpair(2))
probe("connect", lambda: libc.connect(-1, None, 0))

# other processes
probe("ptrace", lambda: libc.ptrace(16, 0x3fffffff, None, None))  # PTRACE_ATTACH, no such pid
probe("process_vm_readv", lambda: libc.process_vm_readv(0x3fffffff, None, L(0), None, L(0), L(1)))
probe("process_vm_writev", lambda: libc.process_vm_writev(0x3fffffff, None, L(0), None, L(0), L(1)))
probe("process_madvise", raw("process_madvise", -1, None, 0, 0, 0))
probe("pidfd_getfd", raw("pidfd_getfd", -1, 0, 0))

# mounts and root
probe("mount", lambda: libc.mount(b"none", NOWHERE, b"tmpfs", L(0), None))
probe("umount2", lambda: libc.umount2(NOWHERE, 0x100))
probe("pivot_root", raw("pivot_root", NOWHERE, NOWHERE))
probe("chroot", lambda: libc.chroot(NOWHERE))
probe("mount_setattr", lambda: libc.mount_setattr(-1, b"", 0, None, L(0)))
probe("move_mount", lambda: libc.move_mount(-1, b"", -1, b"", 0))
probe("open_tree", lambda: libc.open_tree(-1, b"", 0xffff), fd=True)
probe("fsopen", lambda: libc.fsopen(b"tmpfs", 0xffff), fd=True)
probe("fsconfig", lambda: libc.fsconfig(-1, 0xffff, None, None, 0))
probe("fsmount", lambda: libc.fsmount(-1, 0xffff, 0), fd=True)
probe("fspick", lambda: libc.fspick(-1, b"", 0xffff), fd=True)

# namespaces
probe("unshare_nothing", lambda: libc.unshare(0))
probe("unshare_user", lambda: libc.unshare(NS["NEWUSER"]))
probe("setns", lambda: libc.setns(-1, 0))
probe("clone_no_namespace", raw("clone", CLONE_THREAD, 0, 0, 0, 0))
for flag, bit in NS.items():
    probe("clone_" + flag, raw("clone", bit | CLONE_THREAD, 0, 0, 0, 0))
probe("clone_high_word", raw("clone", (1 << 32) | CLONE_THREAD, 0, 0, 0, 0))
probe("clone3", raw("clone3", None, 0))

# kernel attack surface
probe("bpf", raw("bpf", 0xffff, None, 0))
probe("perf_event_open", raw("perf_event_open", None, 0, -1, -1, 0), fd=True)
probe("io_uring_setup", raw("io_uring_setup", 0, None), fd=True)
probe("io_uring_enter", raw("io_uring_enter", -1, 0, 0, 0, None, 0))
probe("io_uring_register", raw("io_uring_register", -1, 0, None, 0))
probe("userfaultfd", raw("userfaultfd", 1), fd=True)  # UFFD_USER_MODE_ONLY: allowed unprivileged
probe("keyctl", raw("keyctl", 0xffff, 0, 0, 0, 0))
probe("add_key", raw("add_key", None, None, None, 0, 0))
probe("request_key", raw("request_key", None, None, None, 0))
probe("open_by_handle_at", lambda: libc.open_by_handle_at(-1, None, 0), fd=True)
probe("name_to_handle_at", lambda: libc.name_to_handle_at(-100, b"/", None, None, 0xffff))
probe("fanotify_init", lambda: libc.fanotify_init(0, 0), fd=True)
probe("lookup_dcookie", raw("lookup_dcookie", 0, None, 0))
probe("syslog", lambda: libc.klogctl(10, None, 0))  # SYSLOG_ACTION_SIZE_BUFFER
old = probe("personality_no_aslr", lambda: libc.personality(L(0x0040000)))
if old >= 0:
    libc.personality(L(old))
probe("personality_plain", lambda: libc.personality(L(0)))

# the filter itself: no stacking another one (invalid operation / no program: EINVAL without it)
probe("seccomp", raw("seccomp", 0xffff, 0, None))
probe("prctl_set_seccomp", lambda: libc.prctl(22, 0xffff, 0, 0, 0))

# host administration
probe("kexec_load", raw("kexec_load", 0, 0, None, 0))
probe("kexec_file_load", raw("kexec_file_load", -1, -1, 0, None, 0))
probe("init_module", raw("init_module", None, 0, None))
probe("finit_module", raw("finit_module", -1, b"", 0))
probe("delete_module", raw("delete_module", b"cordon_probe_none", 0))
probe("reboot", raw("reboot", 0, 0, 0, None))  # bad magic: EINVAL even with CAP_SYS_BOOT
probe("swapon", lambda: libc.swapon(NOWHERE, 0))
probe("swapoff", lambda: libc.swapoff(NOWHERE))
probe("acct", lambda: libc.acct(NOWHERE))
probe("quotactl", lambda: libc.quotactl(0xff, None, 0, None))
probe("quotactl_fd", raw("quotactl_fd", -1, 0, 0, None))
if "iopl" in NR:
    probe("iopl", raw("iopl", 0))
    probe("ioperm", lambda: libc.ioperm(L(0), L(0), 0))
    probe("uselib", raw("uselib", None))

# the x32 ABI: getpid with the x32 bit (x86_64)
if os.uname().machine == "x86_64":
    probe("x32_getpid", lambda: libc.syscall(L(0x40000000 | NR["getpid"])))

# allowed
probe("getpid", raw("getpid"))

print(json.dumps(out, sort_keys=True))
`;

/** A normal workload: compute, spawn a child (fork/posix_spawn go through clone3 -> ENOSYS -> clone), talk over AF_UNIX. */
export const PYTHON_WORKLOAD = String.raw`
import hashlib, json, socket, subprocess, sys, threading
digest = hashlib.sha256(b"cordon" * 1000).hexdigest()[:16]
child = subprocess.run([sys.executable, "-I", "-S", "-c", "print(sum(range(1000)))"], capture_output=True, text=True, check=True).stdout.strip()
a, b = socket.socketpair(socket.AF_UNIX)
a.sendall(b"ping"); pong = b.recv(4).decode()
box = []
t = threading.Thread(target=lambda: box.append(6 * 7)); t.start(); t.join()
print(json.dumps({"digest": digest, "child": child, "unix": pong, "thread": box[0]}))
`;

/** The same for Node: a child process, a worker thread, and a TCP listen that must be refused. */
export const NODE_WORKLOAD = String.raw`
const cp = require("node:child_process");
const { Worker } = require("node:worker_threads");
const net = require("node:net");
const out = {};
out.child = cp.execFileSync("/usr/bin/python3", ["-I", "-S", "-c", "print(6 * 7)"], { encoding: "utf8" }).trim();
new Worker("require('node:worker_threads').parentPort.postMessage(21 * 2)", { eval: true }).once("message", (m) => {
  out.worker = m;
  const server = net.createServer();
  server.once("error", (e) => { out.listen = e.code; console.log(JSON.stringify(out)); });
  server.listen(0, "127.0.0.1", () => { out.listen = "OK"; server.close(); console.log(JSON.stringify(out)); });
});
`;

/**
 * x86_64 only: make one syscall through the i386 ABI (int 0x80, getpid = 20). Prints "before",
 * then the pid, so the output shows whether the call returned.
 */
export const I386_PROBE = String.raw`
import ctypes, mmap
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20; int 0x80; ret
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
print("before", flush=True)
print(ctypes.CFUNCTYPE(ctypes.c_int)(addr)(), flush=True)
`;
