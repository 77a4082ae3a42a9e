#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine (idempotent).
# As root it installs packages; otherwise it only says what is missing.
set -euo pipefail

packages=(podman runc crun uidmap fuse-overlayfs slirp4netns debootstrap busybox-static jq file util-linux qemu-user-static)
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
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
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
