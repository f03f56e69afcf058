#!/usr/bin/env bash
# Installs everything cordon needs on a fresh Debian/Ubuntu machine, then its npm packages.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap: the OS sandbox around cells and process-tier tools. clang/lld/wasi-libc/
# libclang-rt-dev-wasm32: build the C guest tools and fixtures. gcc/libc6-dev/linux-libc-dev:
# build the native probe fixture and check syscall numbers. python3: seccomp self-check.
# socat/ripgrep: what @anthropic-ai/sandbox-runtime (srt, a benchmark baseline) needs on Linux.
# docker-registry: the CNCF distribution registry (2.8) that tests, probes and the bench run on
# loopback to publish to and pull from. skopeo: an independent OCI client that reads what cordon
# pushes (and pushes what cordon must refuse); the bench's baseline for pulls.
# mmdebstrap: builds the container tier's root filesystem image from Debian packages, reproducibly.
# crun: the container tier's default OCI runtime (cordon spawns it itself, no daemon).
# runsc: gVisor's OCI runtime, for container tools that must not reach the host kernel.
# runc: the reference OCI runtime, a baseline in the benchmark. podman: the benchmark's daemonless
# `podman run` baseline for the same image.
APT_PACKAGES=(bubblewrap clang lld wasi-libc libclang-rt-dev-wasm32 gcc libc6-dev linux-libc-dev python3 socat ripgrep docker-registry skopeo mmdebstrap crun runsc runc podman)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
