# file-ops: cordon's example process-tier tool. Reads one JSON request on stdin and writes one
# JSON result on stdout. It runs under bubblewrap + seccomp + a per-call cgroup: it sees
# /workspace (the session's own, writable), /data (shared, read-only) and nothing else of the
# host. The checks below give friendly errors; the sandbox is what enforces them.
import json
import os
import sys

ROOTS = ("/workspace", "/data")
MAX_READ = 128 * 1024


def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(1)


def resolve(path):
    full = os.path.normpath(path)
    if not any(full == r or full.startswith(r + "/") for r in ROOTS):
        fail("path must be under /workspace or /data")
    return full


def read_text(path):
    with open(resolve(path), "rb") as f:
        data = f.read(MAX_READ + 1)
    if len(data) > MAX_READ:
        fail("file is larger than 128KiB")
    return data.decode("utf-8", errors="replace")


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    try:
        if op == "list":
            root = resolve(req.get("path", "/workspace"))
            entries = []
            for name in sorted(os.listdir(root)):
                st = os.stat(os.path.join(root, name))
                entries.append({"name": name, "bytes": st.st_size, "dir": os.path.isdir(os.path.join(root, name))})
            return {"path": root, "entries": entries}
        if op == "read":
            return {"path": req["path"], "text": read_text(req["path"])}
        if op == "write":
            path = resolve(req["path"])
            with open(path, "w", encoding="utf-8") as f:
                f.write(req.get("text", ""))
            return {"path": path, "bytes": os.path.getsize(path)}
        if op == "wc":
            text = read_text(req["path"])
            return {"path": req["path"], "lines": text.count("\n"), "words": len(text.split()), "chars": len(text)}
        if op == "sort":
            lines = read_text(req["path"]).splitlines()
            if req.get("unique", False):
                lines = list(dict.fromkeys(lines))
            return {"path": req["path"], "lines": sorted(lines, reverse=req.get("reverse", False))}
    except OSError as e:
        fail(f"{op} {req.get('path', '')}: {os.strerror(e.errno) if e.errno else 'failed'}")
    fail(f"unknown op {op}")


json.dump(main(), sys.stdout)
