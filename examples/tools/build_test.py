# build-test: cordon's example container-tier tool. Reads one JSON request on stdin:
#   {"files": [{"name": "Makefile", "text": "..."}, ...], "command": "make test"}
# writes the files into the session's private /workspace, runs one allowlisted build command
# there (an argv, never a shell) and writes one JSON result on stdout: the command's exit
# status or signal and the tails of its output. A failing build is a result, not an error.
# It runs inside a container (crun or gVisor) from a digest-pinned Debian image: read-only root,
# no network, no capabilities, its own uid, capped /workspace and /tmp.
import json
import os
import re
import subprocess
import sys

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){0,3}$")
TAIL = 8192
COMMANDS = {
    "make": ["/usr/bin/make", "--no-print-directory"],
    "make test": ["/usr/bin/make", "--no-print-directory", "test"],
    "make check": ["/usr/bin/make", "--no-print-directory", "check"],
    "python3 -m unittest": ["/usr/bin/python3", "-B", "-m", "unittest", "-v"],
}


def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(1)


def tail(data):
    text = data.decode("utf-8", errors="replace")
    return text[-TAIL:]


def main():
    request = json.load(sys.stdin)
    files = request.get("files", [])
    command = request.get("command", "make test")
    for f in files:
        name = f.get("name", "")
        if not NAME.match(name) or ".." in name.split("/"):
            fail("bad file name: " + json.dumps(name)[:80])
        path = os.path.join("/workspace", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            out.write(f.get("text", ""))
    if command == "cc":
        sources = sorted(f["name"] for f in files if f["name"].endswith(".c"))
        if not sources:
            fail("cc: no .c files given")
        build = subprocess.run(["/usr/bin/cc", "-O2", "-Wall", "-o", "/workspace/a.out"] + sources, cwd="/workspace", capture_output=True, timeout=60)
        steps = [("cc", build)]
        if build.returncode == 0:
            steps.append(("./a.out", subprocess.run(["/workspace/a.out"], cwd="/workspace", capture_output=True, timeout=60)))
    elif command in COMMANDS:
        steps = [(command, subprocess.run(COMMANDS[command], cwd="/workspace", capture_output=True, timeout=60))]
    else:
        fail("command must be one of: " + ", ".join(sorted(list(COMMANDS) + ["cc"])))
    results = []
    for label, r in steps:
        status = {"exitCode": r.returncode} if r.returncode >= 0 else {"signal": -r.returncode}
        results.append(dict(step=label, stdout=tail(r.stdout), stderr=tail(r.stderr), **status))
    last = results[-1]
    json.dump({"command": command, "ok": last.get("exitCode") == 0, "steps": results}, sys.stdout)


main()
