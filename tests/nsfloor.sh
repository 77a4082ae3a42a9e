#!/usr/bin/env bash
# Measures the kernel's own cost of one probe child per namespace kind
# (tests/nsfloor.c), alone and several at once: the floor under the
# doctor's fork-and-try probes on this machine. Prints; never fails on the
# figures. Needs a C compiler; run as root for the mount rows.
#   tests/nsfloor.sh [ROUNDS] [AT_ONCE]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
cc -O2 -o target/nsfloor tests/nsfloor.c
target/nsfloor "${1:-30}" "${2:-1}"
