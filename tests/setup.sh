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
