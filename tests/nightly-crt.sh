#!/usr/bin/env bash
# Gives the nightly toolchain the musl C runtime objects of TARGET, which
# `-Zbuild-std` (tests/release.sh) links with: from nightly's own rust-std
# where it is served, else copied from the stable toolchain's TARGET (musl's
# crt1.o, crti.o, crtn.o, crtbegin/end, libc.a and libunwind.a: the same musl
# 1.2 objects, whatever the Rust version). Idempotent.
# Usage: tests/nightly-crt.sh TARGET
set -euo pipefail
target=${1:?usage: tests/nightly-crt.sh TARGET}
nightly=$(rustup run nightly rustc --print sysroot)/lib/rustlib/$target/lib/self-contained
[[ -f $nightly/crt1.o && -f $nightly/libc.a ]] && exit 0
if rustup target add "$target" --toolchain nightly >/dev/null 2>&1 && [[ -f $nightly/crt1.o ]]; then
  exit 0
fi
stable=$(rustc --print sysroot)/lib/rustlib/$target/lib/self-contained
if [[ ! -f $stable/crt1.o || ! -f $stable/libc.a ]]; then
  echo "nightly-crt: neither nightly nor stable has $target's C runtime objects ($stable); rustup target add $target" >&2
  exit 1
fi
mkdir -p "$nightly"
cp "$stable"/* "$nightly"/
echo "nightly-crt: $target's C runtime objects copied from the stable toolchain into $nightly"
