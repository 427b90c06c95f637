#!/bin/sh
# Sets tbuild up on a fresh Debian machine (as root): the runtime and tools builds need,
# pnpm, the workspace's dependencies, the bundled CLI on PATH as `tbuild`, and the example's
# base filesystem. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
pkgs="runc busybox-static python3 iproute2 iptables golang-github-containers-common ca-certificates gcc libc6-dev"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@9.15.9
pnpm install --frozen-lockfile
pnpm build
# The thin client (`pnpm build` compiles it with gcc) sends builds to a running build server
# without starting Node.js, and runs bin/tbuild.js for everything else.
if [ -x packages/tbuild/dist/tbuild-client ]; then
  ln -sf "$(pwd)/packages/tbuild/dist/tbuild-client" /usr/local/bin/tbuild
else
  ln -sf "$(pwd)/packages/tbuild/bin/tbuild.js" /usr/local/bin/tbuild
fi
examples/hello/make-base.sh
tbuild doctor
