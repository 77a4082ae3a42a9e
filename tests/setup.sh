#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine (idempotent).
# As root it installs packages; otherwise it only says what is missing.
set -euo pipefail

packages=(podman runc crun uidmap fuse-overlayfs slirp4netns debootstrap busybox-static jq file util-linux qemu-user-static hyperfine time)
# Report checkers (tests/reports.rs); gitlab-ci-local needs rsync (tests/pipelines.sh).
packages+=(python3-jsonschema libxml2-utils dash bash rsync)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages (install as root): ${missing[*]}" >&2
  fi
fi
# The matrix's outer engines besides podman (tests/matrix/engines.sh): Debian's dockerd 20.10 and
# containerd 1.6 with ctr.  Without recommends: apparmor, needrestart & co. have no use here.
engines=(docker.io containerd)
missing=()
for p in "${engines[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]} (no recommends)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages (install as root): ${missing[*]}" >&2
  fi
fi
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
# The shipped binary rebuilds std for size (tests/release.sh): nightly, its
# sources, and the x86_64 musl target's C runtime objects.
rustup run nightly rustc -V >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup component list --toolchain nightly --installed | grep -qx 'rust-src' ||
  rustup component add rust-src --toolchain nightly
rustup target list --toolchain nightly --installed | grep -qx x86_64-unknown-linux-musl ||
  rustup target add x86_64-unknown-linux-musl --toolchain nightly
# aarch64: build-std needs no prebuilt std, only musl's C runtime objects (crt1.o, libc.a,
# libunwind.a), and nightly's aarch64 musl std is not served here (404). Those objects are
# musl's own, the same in stable's aarch64 musl target (installed above): use them.
tests/nightly-crt.sh aarch64-unknown-linux-musl

# gitlab-ci-local validates and runs the pipelines (tests/pipelines.sh). Pinned: 4.64.0 is
# the newest release that runs on Debian 12's Node 18/20 (later ones crash at start-up).
GCL_VERSION=4.64.0
GCL_PREFIX=${PODRUN_GCL_PREFIX:-/var/cache/podrun-doctor-tools/gitlab-ci-local-$GCL_VERSION}
if [[ ! -x $GCL_PREFIX/node_modules/.bin/gitlab-ci-local ]]; then
  if ! command -v npm >/dev/null; then
    # Debian 12's nodejs/npm packages, or NodeSource's nodejs (which ships npm).
    echo "setup: npm missing: apt-get install nodejs npm (Node 18 or 20)" >&2
  elif [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing gitlab-ci-local $GCL_VERSION into $GCL_PREFIX"
    mkdir -p "$GCL_PREFIX"
    npm install --no-audit --no-fund --silent --prefix "$GCL_PREFIX" "gitlab-ci-local@$GCL_VERSION"
  else
    echo "setup: gitlab-ci-local $GCL_VERSION missing (run tests/setup.sh as root)" >&2
  fi
fi
# The matrix's VM lane (tests/matrix/vm): qemu boots Debian's kernel; kmod (depmod, modprobe --show-depends)
# and cpio make its initramfs; e2fsprogs makes and reads its disks.  Without recommends: qemu's would
# bring a GUI stack the lane never uses.
vm_packages=(qemu-system-x86 kmod cpio e2fsprogs)
vm_missing=()
for p in "${vm_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vm_missing+=("$p")
done
if ((${#vm_missing[@]})) && [[ $(id -u) -eq 0 ]]; then
  echo "setup: installing ${vm_missing[*]} (VM lane)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${vm_missing[@]}" >/dev/null
elif ((${#vm_missing[@]})); then
  echo "setup: missing packages for the VM lane (install as root): ${vm_missing[*]}" >&2
fi
# Fuzzing (tests/fuzz.sh): cargo-fuzz needs a nightly toolchain; the binary is installed once into
# the tools cache so that a warm run does not rebuild it. Pinned for --locked reproducibility.
CARGO_FUZZ_VERSION=0.13.2
FUZZ_PREFIX=${PODRUN_TOOLS:-/var/cache/podrun-doctor-tools}/cargo-fuzz
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
if ! "$FUZZ_PREFIX/bin/cargo-fuzz" --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
  echo "setup: installing cargo-fuzz $CARGO_FUZZ_VERSION into $FUZZ_PREFIX"
  mkdir -p "$FUZZ_PREFIX"
  cargo install --quiet --locked --root "$FUZZ_PREFIX" --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
