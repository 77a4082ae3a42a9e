#!/usr/bin/env bash
# Builds the binaries we ship: static musl, release profile, with the
# standard library rebuilt with the same size-first settings (opt-level z,
# LTO across std, std's optimize_for_size feature, no backtrace symboliser).
# The prebuilt std is optimised for speed and carries ~230-280 KiB more than
# this tool needs: with it both binaries are over the 1 MiB budget (aarch64
# 1.06 MB). Rebuilding std needs the nightly toolchain's -Zbuild-std with
# rust-src and each target's musl C runtime objects (tests/setup.sh installs
# them; tests/nightly-crt.sh takes aarch64's from stable, as nightly's
# aarch64 musl std is not served here). panic_immediate_abort is NOT used:
# the panic hook must still run, because `exec` reaches CMD even when the
# doctor panics.
# Usage: tests/release.sh [TARGET...]   (default: x86_64 and aarch64 musl)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
((${#targets[@]})) || targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
toolchain=${PODRUN_RELEASE_TOOLCHAIN:-nightly}
build_std_targets=${PODRUN_BUILD_STD_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl}
for t in "${targets[@]}"; do
  if [[ " $build_std_targets " == *" $t "* ]]; then
    if ! rustup run "$toolchain" rustc -V >/dev/null 2>&1; then
      echo "release: the $toolchain toolchain is missing (tests/setup.sh installs it)" >&2
      exit 1
    fi
    cargo "+$toolchain" build --locked --release --target "$t" \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
  else
    cargo build --locked --release --target "$t"
  fi
done
