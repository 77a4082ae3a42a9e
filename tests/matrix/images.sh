#!/usr/bin/env bash
# Build the podrun-doctor matrix job images without any container registry.
#
#   podrun-job:deb12  Debian 12 bookworm, podman 4.3
#   podrun-job:deb13  Debian 13 trixie,   podman 5.4
#   podrun-job:deb12nr, :deb13nr   `apt-get install --no-install-recommends podman uidmap`, as users
#                                  build job images (no slirp4netns/passt/nftables/iptables/fuse-overlayfs;
#                                  the network stack the distribution's dependencies pick)
#   podrun-job:deb12cni            the same with containernetworking-plugins named (so no netavark)
#   podrun-job:deb13bh             the deb13nr set plus buildah beside podman
#
# Each image is a debootstrap --variant=minbase rootfs with podman and its helpers, a `podman` user
# (uid/gid 1000, home /home/podman) and the upstream quay.io/podman/stable subordinate ID ranges
# (podman:1:999 and podman:1001:64535).  Nothing else of the upstream image's configuration is copied
# (no containers.conf, no storage.conf, no VOLUMEs, no ENV): the image is deliberately "plain", i.e.
# what a user gets from `apt-get install podman` plus a user, so that the doctor has real work to do.
# Scenarios that need the upstream configuration (or a broken one) derive variants from these images
# in run.sh (see README.md, "Image").
#
# Cache: rootfs tarballs live in ${PODRUN_MATRIX_CACHE:-/var/cache/podrun-doctor-matrix}, keyed by a
# hash of this script; an image that already carries the label podrun.matrix.hash=<hash> is kept.
#
# Usage: tests/matrix/images.sh [--force] [deb12] [deb13] [deb12nr] [deb13nr] [deb12cni] [deb13bh]
set -euo pipefail

CACHE=${PODRUN_MATRIX_CACHE:-/var/cache/podrun-doctor-matrix}
MIRROR=${PODRUN_MATRIX_MIRROR:-http://deb.debian.org/debian}
HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
FORCE=0
WANT=()
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    deb12|deb13|deb12nr|deb13nr|deb12cni|deb13bh) WANT+=("$a") ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "images.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
[ ${#WANT[@]} -gt 0 ] || WANT=(deb12 deb13 deb12nr deb13nr deb12cni deb13bh)

log() { printf '[images %s] %s\n' "$(date +%T)" "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "images.sh must run as root (debootstrap, podman import)" >&2; exit 2; }

need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v podman >/dev/null || need_pkgs+=(podman)
command -v runc >/dev/null || need_pkgs+=(runc)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

suite_of() { case $1 in deb12*) echo bookworm ;; deb13*) echo trixie ;; esac; }
pkgs_of() {
  # podman + what `apt-get install podman` recommends, minus buildah and dbus-user-session;
  # both runtimes, so scenarios can pick one; libcap2-bin (setcap) for the file-capability variant.  bookworm's podman 4.3 uses slirp4netns, trixie's 5.4 pasta.
  local common=podman,uidmap,fuse-overlayfs,crun,runc,catatonit,ca-certificates,libcap2-bin
  case $1 in
    deb12) echo "$common,netavark,aardvark-dns,slirp4netns" ;;
    deb13) echo "$common,netavark,aardvark-dns,nftables,passt,slirp4netns" ;;
    *) echo ca-certificates ;;   # apt-installed images: a bare minbase, then apt_pkgs_of in the chroot
  esac
}
apt_pkgs_of() {
  # Images as users build them: `apt-get install --no-install-recommends` in the chroot, so apt (not
  # debootstrap) resolves dependencies and the virtual container-network-stack exactly as in a
  # Containerfile.  uidmap is named because rootless podman needs newuidmap (it is only a Recommends).
  case $1 in
    deb12nr|deb13nr) echo "podman uidmap" ;;
    deb12cni) echo "podman uidmap containernetworking-plugins" ;;
    deb13bh) echo "podman uidmap buildah" ;;
  esac
}
apt_install() { # dir tag: apt-get install --no-install-recommends in the chroot, as a Containerfile would
  local dir=$1 tag=$2 rc=0
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod 0755 "$dir/usr/sbin/policy-rc.d"
  mount -t proc proc "$dir/proc"
  # shellcheck disable=SC2046  # the package list is split on purpose
  chroot "$dir" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(apt_pkgs_of "$tag")" \
    >"$CACHE/apt-$tag.log" 2>&1 || rc=$?
  umount "$dir/proc"
  rm -f "$dir/usr/sbin/policy-rc.d"
  [ $rc = 0 ] || { log "$tag: apt-get install failed, see $CACHE/apt-$tag.log"; tail -20 "$CACHE/apt-$tag.log" >&2; }
  return $rc
}

image_hash() { podman image inspect --format '{{index .Labels "podrun.matrix.hash"}}' "podrun-job:$1" 2>/dev/null || true; }
# deb12 and deb13 are built exactly as by the images.sh of commit 842815c (hash 3f8059015c391163):
# accept its images, so clones with the older script and this one do not rebuild them in turn.
current() { local h; h=$(image_hash "$1"); [ "$h" = "$HASH" ] || { [ "$h" = 3f8059015c391163 ] && [[ $1 =~ ^deb1[23]$ ]]; }; }

build_rootfs() { # tag -> writes $CACHE/rootfs-<tag>-<hash>.tar
  local tag=$1 suite dir tarball
  suite=$(suite_of "$tag")
  tarball="$CACHE/rootfs-$tag-$HASH.tar"
  if [ -s "$tarball" ] && [ $FORCE = 0 ]; then log "$tag: cached rootfs $tarball"; return 0; fi
  dir=$(mktemp -d "$CACHE/tmp.$tag.XXXXXX")
  mkdir -p "$CACHE/debs-$suite"
  log "$tag: debootstrap $suite ($(pkgs_of "$tag")) into $dir"
  if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs-$suite" \
        --include="$(pkgs_of "$tag")" "$suite" "$dir" "$MIRROR" >"$CACHE/debootstrap-$tag.log" 2>&1; then
    cp "$dir/debootstrap/debootstrap.log" "$CACHE/debootstrap-$tag.inner.log" 2>/dev/null || true
    log "$tag: debootstrap failed, see $CACHE/debootstrap-$tag.log and .inner.log"
    tail -20 "$CACHE/debootstrap-$tag.inner.log" >&2 || true
    rm -rf "$dir"; return 1
  fi
  if [ -n "$(apt_pkgs_of "$tag")" ]; then apt_install "$dir" "$tag" || { rm -rf "$dir"; return 1; }; fi
  # The podman user, as in quay.io/podman/stable (useradd podman -> 1000:1000, /home/podman).
  grep -q '^podman:' "$dir/etc/group"  || echo 'podman:x:1000:' >>"$dir/etc/group"
  grep -q '^podman:' "$dir/etc/passwd" || echo 'podman:x:1000:1000::/home/podman:/bin/bash' >>"$dir/etc/passwd"
  grep -q '^podman:' "$dir/etc/shadow" || echo 'podman:!:19000::::::' >>"$dir/etc/shadow"
  [ -e "$dir/etc/gshadow" ] && { grep -q '^podman:' "$dir/etc/gshadow" || echo 'podman:!::' >>"$dir/etc/gshadow"; }
  mkdir -p "$dir/home/podman"; chown 1000:1000 "$dir/home/podman"; chmod 0755 "$dir/home/podman"
  printf 'podman:1:999\npodman:1001:64535\n' >"$dir/etc/subuid"
  printf 'podman:1:999\npodman:1001:64535\n' >"$dir/etc/subgid"
  chmod 0644 "$dir/etc/subuid" "$dir/etc/subgid"
  # Slim down; keep dpkg state so derived images could apt-get.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
         "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
  : >"$dir/etc/resolv.conf"; echo podrun-job >"$dir/etc/hostname"
  # Record what was built.
  chroot "$dir" dpkg-query -W -f='${Package} ${Version}\n' podman crun runc fuse-overlayfs uidmap slirp4netns passt \
    netavark aardvark-dns containernetworking-plugins golang-github-containers-common iptables nftables buildah 2>/dev/null \
    >"$CACHE/versions-$tag.txt" || true
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$dir" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$dir"
  log "$tag: rootfs $(du -h "$tarball" | cut -f1) -> $tarball"
}

import_image() {
  local tag=$1
  log "$tag: podman import -> podrun-job:$tag"
  podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL podrun.matrix.hash=$HASH" \
    --change "LABEL podrun.matrix.suite=$(suite_of "$tag")" \
    "$CACHE/rootfs-$tag-$HASH.tar" "podrun-job:$tag" >/dev/null
}

mkdir -p "$CACHE"
todo=()
for t in "${WANT[@]}"; do
  if [ $FORCE = 0 ] && current "$t"; then
    log "$t: podrun-job:$t is current (hash $(image_hash "$t"))"
  else
    todo+=("$t")
  fi
done
[ ${#todo[@]} -gt 0 ] || exit 0

# debootstrap is network/dpkg bound: build the suites at once; the tags of one suite one after the
# other (they share the suite's .deb cache).
pids=()
for s in bookworm trixie; do
  ( for t in "${todo[@]}"; do [ "$(suite_of "$t")" = $s ] || continue; build_rootfs "$t" || exit 1; done ) & pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc = 0 ] || { log "rootfs build failed"; exit 1; }
for t in "${todo[@]}"; do import_image "$t"; done
# Drop tarballs of older script versions.
find "$CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-*-$HASH.tar" -delete
log "done: ${todo[*]} (hash $HASH)"
