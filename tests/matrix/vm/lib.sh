# shellcheck shell=bash
# Host side of the VM lane (run.sh): kernel, initramfs, guest root disk, qemu.  Sourced, not executed.
# Everything expensive is cached under $VM_CACHE; see tests/matrix/README.md, "VM lane".

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${PODRUN_VM_CACHE:-${PODRUN_MATRIX_CACHE:-/var/cache/podrun-doctor-matrix}/vm}
VM_MIRROR=${PODRUN_MATRIX_MIRROR:-http://deb.debian.org/debian}
VM_MEM=${PODRUN_VM_MEM:-3072}
VM_SMP=${PODRUN_VM_SMP:-2}
# What the guest needs: both outer engines (podman, docker.io) with AppArmor userspace so each loads its
# default profile; kmod because the kernel and the engines call /sbin/modprobe; run.sh's own tools
# (jq, busybox-static, debootstrap for images.sh's presence check); iptables for dockerd's bridge.
VM_PKGS=podman,docker.io,apparmor,kmod,uidmap,fuse-overlayfs,crun,runc,catatonit,netavark,aardvark-dns,slirp4netns,iptables,busybox-static,jq,debootstrap,iproute2,procps,ca-certificates,libcap2-bin
# Modules the guest loads at boot (the rest come through modprobe on demand).
VM_MODULES="overlay fuse tun veth bridge br_netfilter nf_tables nft_compat nft_chain_nat xt_MASQUERADE xt_conntrack xt_addrtype nf_nat ip_tables iptable_nat iptable_filter"

vlog() { printf '[vm %s] %s\n' "$(date +%T)" "$*" >&2; }
vdie() { vlog "FAIL: $*"; exit 1; }

vm_tools() { # host packages the lane needs; missing ones are installed (as tests/setup.sh does)
  local need=() p
  for p in qemu-system-x86 debootstrap e2fsprogs kmod cpio busybox-static; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  vlog "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
    "${need[@]}" >/dev/null || vdie "cannot install ${need[*]}: the VM lane cannot run"
}

vm_kernel() { # sets KVER, KDIR (extracted package: boot/vmlinuz-*, lib/modules/KVER with modules.dep)
  local pkg deb
  pkg=${PODRUN_VM_KERNEL:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
  [ -n "$pkg" ] || vdie "apt-cache finds no linux-image-amd64 dependency (run apt-get update): no kernel to boot"
  KVER=${pkg#linux-image-}
  KDIR=$VM_CACHE/kernel/$KVER
  if [ -s "$KDIR/boot/vmlinuz-$KVER" ] && [ -s "$KDIR/lib/modules/$KVER/modules.dep" ]; then return 0; fi
  mkdir -p "$VM_CACHE/kernel"
  deb=$(find "$VM_CACHE/kernel" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
  if [ -z "$deb" ]; then
    vlog "apt-get download $pkg"
    (cd "$VM_CACHE/kernel" && apt-get download "$pkg" >/dev/null 2>&1) || vdie "apt-get download $pkg failed"
    deb=$(find "$VM_CACHE/kernel" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
  fi
  rm -rf "$KDIR.part"
  dpkg-deb -x "$deb" "$KDIR.part" || vdie "dpkg-deb -x $deb failed"
  depmod -b "$KDIR.part" "$KVER" || vdie "depmod for $KVER failed"
  rm -rf "$KDIR"; mv "$KDIR.part" "$KDIR"
}

kvm_works() { # a sign of life from the kernel within a few seconds under KVM; a nested guest can hang
  [ -w /dev/kvm ] || return 1
  local log; log=$(mktemp)
  # (a subshell: qemu may abort, e.g. on an MSR the nested host refuses, and bash would report it)
  (timeout -k 2 "${PODRUN_VM_KVM_PROBE:-8}" qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults \
    -display none -monitor none -serial "file:$log" -no-reboot -kernel "$KDIR/boot/vmlinuz-$KVER" \
    -append 'console=ttyS0 panic=-1 earlyprintk=ttyS0'; true) >/dev/null 2>&1
  if grep -q 'Linux version' "$log"; then rm -f "$log"; return 0; fi
  rm -f "$log"; return 1
}
vm_accel() { # sets ACCEL (qemu options) and ACCEL_NAME
  if [ "${PODRUN_VM_ACCEL:-auto}" != tcg ] && kvm_works; then
    ACCEL=(-accel kvm -cpu host); ACCEL_NAME=kvm
  else
    ACCEL=(-accel tcg,thread=multi -cpu max); ACCEL_NAME=tcg
  fi
}

vm_initramfs() { # -> $INITRD: busybox + the modules to mount an ext4 virtio disk; its /init switch_roots
  local key dir m
  key=$( { echo "$KVER"; sha256sum <"$VM_DIR/initramfs-init"; sha256sum </bin/busybox; } | sha256sum | cut -c1-16)
  INITRD=$VM_CACHE/initrd-$KVER-$key.cpio.gz
  [ -s "$INITRD" ] && return 0
  dir=$(mktemp -d); mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/newroot" "$dir/modules"
  cp /bin/busybox "$dir/bin/busybox"
  cp "$VM_DIR/initramfs-init" "$dir/init"; chmod 0755 "$dir/init"
  : >"$dir/modules.order"
  for m in virtio_pci virtio_blk crc32c_generic ext4; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r m; do
    cp "$m" "$dir/modules/"; basename "$m" >>"$dir/modules.order"
  done
  (cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.part"
  mv "$INITRD.part" "$INITRD"; rm -rf "$dir"
}

vm_rootfs() { # -> $ROOTFS_TAR: debootstrap bookworm (the kernel's release) with VM_PKGS + the kernel's modules
  local key dir
  # Keyed by what makes it (not by the whole file: a debootstrap costs minutes).
  key=$( { echo "$KVER $VM_PKGS"; declare -f vm_rootfs; } | sha256sum | cut -c1-16)
  ROOTFS_TAR=$VM_CACHE/rootfs-$key.tar
  [ -s "$ROOTFS_TAR" ] && return 0
  dir=$(mktemp -d "$VM_CACHE/tmp.rootfs.XXXXXX"); mkdir -p "$VM_CACHE/debs-bookworm"
  vlog "debootstrap bookworm ($VM_PKGS) into $dir"
  if ! debootstrap --variant=minbase --cache-dir="$VM_CACHE/debs-bookworm" --include="$VM_PKGS" \
        bookworm "$dir" "$VM_MIRROR" >"$VM_CACHE/debootstrap.log" 2>&1; then
    tail -20 "$dir/debootstrap/debootstrap.log" >&2 2>/dev/null || tail -20 "$VM_CACHE/debootstrap.log" >&2
    rm -rf "$dir"; vdie "debootstrap of the guest root failed (see $VM_CACHE/debootstrap.log)"
  fi
  mkdir -p "$dir/lib/modules"; cp -a "$KDIR/lib/modules/$KVER" "$dir/lib/modules/"
  chroot "$dir" depmod "$KVER"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  echo podrun-vm >"$dir/etc/hostname"; : >"$dir/etc/resolv.conf"
  chroot "$dir" dpkg-query -W -f='${Package} ${Version}\n' podman docker.io containerd runc crun apparmor \
    >"$VM_CACHE/versions-guest.txt" 2>/dev/null || true
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$dir" -cf "$ROOTFS_TAR.part" .
  mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"; rm -rf "$dir"
  find "$VM_CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete
}

# qemu_boot DISK IO-DISK MODE LOG [extra -drive options for DISK]: boots the guest, waits for it to power off
qemu_boot() {
  local disk=$1 io=$2 mode=$3 log=$4 snap=${5:-} rc slow=
  # Under TCG the guest runs tens of times slower than hardware: inner.sh
  # then gives the doctor a larger probing budget (see inner.sh).
  [ "${ACCEL_NAME:-}" = tcg ] && slow=' podrun.slow=1'
  set +e
  timeout -k 10 "${PODRUN_VM_TIMEOUT:-1500}" qemu-system-x86_64 "${ACCEL[@]}" -smp "$VM_SMP" -m "$VM_MEM" \
    -nodefaults -no-reboot -display none -monitor none -serial "file:$log" \
    -kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all apparmor=1 security=apparmor podrun.mode=$mode$slow" \
    -drive "file=$disk,format=raw,if=virtio,cache=unsafe$snap" -drive "file=$io,format=raw,if=virtio,cache=unsafe" \
    >>"$log.qemu" 2>&1 &
  QEMU_PID=$!   # run.sh's exit trap stops it if the lane is interrupted
  wait "$QEMU_PID"; rc=$?
  QEMU_PID=
  set -e
  return $rc
}

# io_disk DIR IMG: an ext4 image with DIR's content (mkfs.ext4 -d), room for the results
io_disk() { rm -f "$2"; truncate -s "${3:-512M}" "$2"; mkfs.ext4 -q -F -L podrun-io -d "$1" "$2"; }
# io_read IMG PATH DEST: copy PATH out of the ext4 image without mounting it
io_read() { mkdir -p "$3"; debugfs -R "rdump $2 $3" "$1" >/dev/null 2>&1; }

# vm_load_images ROOT TAR...: the job images into the guest root's podman and docker stores, on the host.
# Loading them in the guest under TCG takes minutes per image (3.5 min for deb12 into podman alone);
# here it takes seconds.  podman: the host's podman (the same 4.3 as the guest's) with --root in the
# tree.  docker: the guest's own dockerd in a chroot of the tree, in a private mount namespace, without
# networking (bridge=none, no iptables); its network state is dropped after, so the guest's dockerd
# makes its default bridge itself.  Both stores are overlay on ext4, as in the guest.
vm_load_images() {
  local root=$1; shift
  local t run; run=$(mktemp -d)
  for t in "$@"; do
    podman --root "$root/var/lib/containers/storage" --runroot "$run" --storage-driver overlay load -q -i "$t" >/dev/null ||
      { rm -rf "$run"; vdie "podman load of $t into the guest root failed"; }
  done
  # libpod's database records the host's --root/--runroot paths and podman refuses a mismatch; it holds
  # no images (those are in containers/storage), so the guest's podman starts it afresh.
  rm -rf "$run" "$root/var/lib/containers/storage/libpod"
  # podman 4.3 picks CNI for a store that already holds images when it first sets up networking (to keep
  # old setups), netavark for a fresh one; a node's podman saw its store empty: netavark, as on the host.
  printf netavark >"$root/var/lib/containers/storage/defaultNetworkBackend"   # no newline: podman reads it raw
  unshare -m --propagation private bash -euc '
    root=$1; shift
    mount --bind "$root" "$root"   # docker-untar remounts the chroot'"'"'s / and needs it to be a mount
    mount -t proc proc "$root/proc"; mount --rbind /sys "$root/sys"; mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"; mount -t tmpfs tmpfs "$root/tmp"; mkdir -p "$root/tmp/images"
    mount --bind "$(dirname "$1")" "$root/tmp/images"
    chroot "$root" /usr/sbin/dockerd --iptables=false --ip6tables=false --bridge=none \
      --storage-driver overlay2 >"$root/tmp/dockerd.log" 2>&1 & d=$!
    for i in $(seq 60); do chroot "$root" docker info >/dev/null 2>&1 && break; sleep 1; done
    rc=0
    for t in "$@"; do chroot "$root" docker load -q -i "/tmp/images/${t##*/}" >/dev/null || rc=1; done
    [ $rc = 0 ] || tail -20 "$root/tmp/dockerd.log" >&2
    kill $d; wait $d || true
    exit $rc' _ "$root" "$@" || vdie "docker load into the guest root failed"
  rm -rf "$root/var/lib/docker/network"
}
