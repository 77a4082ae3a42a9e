#!/usr/bin/env bash
# The matrix's second-kernel lane: Debian's own kernel (linux-image-amd64's 6.1) in qemu, pure cgroup v2
# and AppArmor, podman and dockerd as outer engines; inside, the host matrix's unchanged run.sh/inner.sh
# run the scenarios with the doctor under test.  Results come back on an ext4 io disk and are printed
# as the host matrix prints them, each row with engine= and kernel= (tests/matrix/README.md, "VM lane").
#
# Usage: tests/matrix/vm/run.sh [--scenarios '[ENGINE:]GLOB ...'] [--engines 'podman docker'] [--capture 'ENGINE:NAME ...']
# Env:   PODRUN_DOCTOR_BIN, PODRUN_MATRIX_CACHE (cache: $PODRUN_MATRIX_CACHE/vm), PODRUN_VM_OUT (default
#        target/matrix-vm), PODRUN_VM_ACCEL=tcg (skip the KVM probe), PODRUN_VM_KERNEL (a linux-image-*
#        package; default: what linux-image-amd64 depends on), PODRUN_VM_MEM, PODRUN_VM_SMP, PODRUN_VM_TIMEOUT.
# Exit:  0 every row OK; 1 a row not OK, a missing row, or the lane cannot run (no qemu, no kernel).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MATRIX=$(cd "$VM_DIR/.." && pwd)
REPO=$(cd "$MATRIX/../.." && pwd)
DOCTOR=${PODRUN_DOCTOR_BIN:-$REPO/target/x86_64-unknown-linux-musl/release/podrun-doctor}
OUT=${PODRUN_VM_OUT:-$REPO/target/matrix-vm}
# GitLab's two recipes and the docker executor's defaults, on both job images; `ENGINE:NAME` runs a row
# under that engine only (the AppArmor-unconfined proofs of scenarios-vm.sh: podman's profile is the one
# that bites, docker-default never gets that far).
SCENARIOS=${PODRUN_VM_SCENARIOS:-"deb12-rootless-priv deb13-rootless-priv deb12-root-fuse-nnp deb13-root-fuse-nnp deb12-root-default deb13-root-default podman:deb12-root-fuse-nnp-aaunconf podman:deb13-root-default-aaunconf"}
# Fixtures captured in the guest after the rows (capture.sh ENGINE:NAME) -> $OUT/fixtures/NAME/.
CAPTURE=${PODRUN_VM_CAPTURE:-"podman:deb13-root-fuse-nnp"}
ENGINES=${PODRUN_VM_ENGINES:-"podman docker"}
while [ $# -gt 0 ]; do
  case $1 in
    --scenarios) SCENARIOS=${2:?}; shift ;;
    --engines) ENGINES=${2:?}; shift ;;
    --capture) CAPTURE=$2; shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "vm/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
# No stale rows: a run that dies before booting must leave no earlier results for run.sh --vm to count.
rm -rf "$OUT"
[ "$(id -u)" = 0 ] || vdie "must run as root (debootstrap, podman save, mkfs of a root tree)"
[ -x "$DOCTOR" ] || vdie "no doctor binary at $DOCTOR (build it: cargo build --release --target x86_64-unknown-linux-musl)"
T0=$(date +%s)
mkdir -p "$VM_CACHE"
WORK=$(mktemp -d /var/tmp/podrun-vm.XXXXXX)
QEMU_PID=
trap '[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

vm_tools
command -v qemu-system-x86_64 >/dev/null || vdie "qemu-system-x86_64 missing after installing qemu-system-x86"
vm_kernel; vm_accel; vm_initramfs
vlog "kernel $KVER, accel $ACCEL_NAME"
vm_rootfs
T_ROOTFS=$(date +%s)

save_images() { # the matrix's job images, made by its own images.sh -> $VM_CACHE/images/; sets IMG_TARS, IMG_IDS
  # images.sh runs with a podman store and a cache of the lane's own: it neither waits for the host
  # matrix's lock nor retags the images a host matrix run (maybe of another images.sh version) is using.
  local store=$VM_CACHE/jobimages t id
  mkdir -p "$store" "$VM_CACHE/images"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "/run/podrun-vm-jobimages"\n' "$store/storage" >"$store/storage.conf"
  export CONTAINERS_STORAGE_CONF=$store/storage.conf
  PODRUN_MATRIX_CACHE=$store "$MATRIX/images.sh" deb12 deb13 || vdie "images.sh failed"
  IMG_TARS=(); IMG_IDS=
  for t in deb12 deb13; do
    id=$(podman image inspect --format '{{.Id}}' "localhost/podrun-job:$t")
    [ -s "$VM_CACHE/images/$t-$id.tar" ] || { rm -f "$VM_CACHE/images/$t-"*.tar
      podman save -q -o "$VM_CACHE/images/$t-$id.tar.part" "localhost/podrun-job:$t"
      mv "$VM_CACHE/images/$t-$id.tar.part" "$VM_CACHE/images/$t-$id.tar"; }
    IMG_TARS+=("$VM_CACHE/images/$t-$id.tar"); IMG_IDS+="$t=$id "
  done
  unset CONTAINERS_STORAGE_CONF
}
save_images

# The guest disk: rootfs + this lane's init + the job images in podman's and docker's stores (loaded on
# the host, see vm_load_images).  Keyed by everything that goes into it; a run boots a snapshot of it.
KEY=$( { basename "$ROOTFS_TAR"; echo "$KVER $IMG_IDS"; sha256sum <"$VM_DIR/guest-init.sh"; declare -f vm_load_images; } | sha256sum | cut -c1-16)
DISK=$VM_CACHE/disk-$KEY.img
if [ ! -s "$DISK" ]; then
  vlog "building guest disk $DISK"
  mkdir -p "$WORK/root"
  tar -C "$WORK/root" --numeric-owner --xattrs --xattrs-include='security.capability' -xf "$ROOTFS_TAR"
  install -m 0755 "$VM_DIR/guest-init.sh" "$WORK/root/sbin/podrun-vm-init"
  vm_load_images "$WORK/root" "${IMG_TARS[@]}"
  truncate -s "${PODRUN_VM_DISK_SIZE:-8G}" "$DISK.part"
  mkfs.ext4 -q -F -L podrun-root -d "$WORK/root" "$DISK.part" || vdie "mkfs.ext4 -d of the guest root failed"
  rm -rf "$WORK/root"
  mv "$DISK.part" "$DISK"
  find "$VM_CACHE" -maxdepth 1 -name 'disk-*.img' ! -name "disk-$KEY.img" -delete
fi
T_DISK=$(date +%s)

# This run's input: the doctor under test, the matrix scripts as they are in this tree, the lists.
mkdir -p "$WORK/io/in/matrix" "$WORK/io/in/vm/shim"
cp "$DOCTOR" "$WORK/io/in/podrun-doctor"
cp "$MATRIX"/*.sh "$VM_DIR/scenarios-vm.sh" "$WORK/io/in/matrix/"
echo '. "$MATRIX_DIR/scenarios-vm.sh"' >>"$WORK/io/in/matrix/scenarios-wide.sh"   # the VM-only rows
cp "$VM_DIR/guest-matrix.sh" "$WORK/io/in/vm/"; cp "$VM_DIR/shim/podman" "$WORK/io/in/vm/shim/"
printf '%s\n' $SCENARIOS >"$WORK/io/in/scenarios"
printf '%s\n' $ENGINES >"$WORK/io/in/engines"
printf '%s\n' $CAPTURE >"$WORK/io/in/capture"
io_disk "$WORK/io" "$WORK/io.img" 1G
rm -rf "$OUT"; mkdir -p "$OUT"
vlog "booting ($ACCEL_NAME, $VM_SMP cpus, $VM_MEM MiB): scenarios [$SCENARIOS], engines [$ENGINES]"
qrc=0; qemu_boot "$DISK" "$WORK/io.img" matrix "$OUT/console.log" ,snapshot=on || qrc=$?
T_BOOT=$(date +%s)
io_read "$WORK/io.img" /out "$WORK/res"
[ -d "$WORK/res/out" ] && cp -a "$WORK/res/out/." "$OUT/"
[ $qrc = 0 ] || vlog "qemu exited $qrc (124: the guest did not power off in time); see $OUT/console.log"

. "$VM_DIR/report.sh"
report "$OUT" "$(grep -s '^kernel=' "$OUT/guest.txt" | cut -d= -f2)" "$ACCEL_NAME"
for c in $CAPTURE; do   # a fixture asked for and not made fails the lane like a missing row
  n=${c#*:}
  if [ "$(cat "$OUT/capture-$n.rc" 2>/dev/null)" = 0 ] && [ -s "$OUT/fixtures/$n/host.json" ]; then
    echo "capture $n: $OUT/fixtures/$n" | tee -a "$OUT/summary.txt"
  else
    echo "capture $n: FAILED (see guest-matrix.log)" | tee -a "$OUT/summary.txt"; FAIL=$((FAIL + 1))
  fi
done
{
  echo "vm timings: rootfs $((T_ROOTFS - T0))s, job images + guest disk $((T_DISK - T_ROOTFS))s, boot + scenarios $((T_BOOT - T_DISK))s, total $(( $(date +%s) - T0 ))s ($ACCEL_NAME, $VM_SMP cpus)"
  echo "$PASS passed, $FAIL failed"
} | tee -a "$OUT/summary.txt"
[ "$FAIL" = 0 ]
