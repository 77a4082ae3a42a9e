#!/usr/bin/env bash
# Builds the binaries we ship: static musl, release profile; for x86_64 the
# standard library is rebuilt with the same size-first settings (opt-level z, LTO across
# std, std's optimize_for_size feature). The prebuilt std is optimised for
# speed and carries ~280 KiB more than this tool needs: with it the x86_64
# binary is ~1.06 MB, over the 1 MiB budget; rebuilt, ~0.78 MB. Rebuilding std
# needs the nightly toolchain's -Zbuild-std (tests/setup.sh installs nightly
# with rust-src and both musl targets). panic_immediate_abort is NOT used:
# the panic hook must still run, because `exec` reaches CMD even when the
# doctor panics. aarch64 is built with the stable toolchain's prebuilt std
# (~0.95 MB): nightly's aarch64 musl std, whose C runtime objects build-std
# still needs, is not served to this machine.
# Usage: tests/release.sh [TARGET...]   (default: x86_64 and aarch64 musl)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
((${#targets[@]})) || targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
toolchain=${PODRUN_RELEASE_TOOLCHAIN:-nightly}
build_std_targets=${PODRUN_BUILD_STD_TARGETS:-x86_64-unknown-linux-musl}
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
