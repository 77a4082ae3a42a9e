#!/bin/bash
# PID 1 of the VM lane's guest (installed as /sbin/podrun-vm-init; the initramfs switch_roots to it).
# A plain init instead of systemd: under TCG every unit costs seconds, and the lane needs only what a
# node gives a job: pure cgroup v2 with controllers delegated, AppArmor with its profiles loaded, the
# kernel modules, 0666 /dev/fuse and /dev/net/tun (udev's rule), high rlimits, and the engines.
# Kernel command line: podrun.mode=matrix runs /vmio/in/vm/guest-matrix.sh (the root disk is a snapshot).
# The second disk (/dev/vdb, ext4) carries the input (in/) and takes the results (out/).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
say() { echo "[guest $(date +%T)] $*"; }
finish() { sync; umount /vmio 2>/dev/null; sync; say "powering off"; echo o >/proc/sysrq-trigger; sleep 10; }
trap finish EXIT

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || true
mkdir -p /dev/pts /dev/shm /run /tmp /sys/fs/cgroup /vmio
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security
mkdir -p /run/lock
hostname podrun-vm
ip link set lo up
echo 1 >/proc/sys/kernel/sysrq

# cgroup v2 as a node gives it: processes out of the root group (no internal processes), every
# controller delegated to children.
mkdir -p /sys/fs/cgroup/init.scope
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; done
# rlimits as systemd gives services (LimitNOFILE=infinity -> nr_open) instead of the kernel's 1024/4096.
ulimit -Hn 1048576; ulimit -n 1048576; ulimit -Hu unlimited; ulimit -u unlimited

for m in overlay fuse tun veth bridge br_netfilter nf_tables nft_compat nft_chain_nat nf_nat xt_MASQUERADE \
         xt_conntrack xt_addrtype ip_tables iptable_nat iptable_filter; do
  modprobe "$m" || say "modprobe $m failed"
done
chmod 0666 /dev/fuse /dev/net/tun   # what udev's 50-udev-default.rules does on a node
# AppArmor: load the system's profiles as apparmor.service does; podman and dockerd load their own.
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
  find /etc/apparmor.d -maxdepth 1 -type f -print0 | xargs -0 -r apparmor_parser -r -W 2>/dev/null || true
  say "apparmor enabled: $(wc -l </sys/kernel/security/apparmor/profiles) profiles loaded"
else
  say "apparmor NOT enabled"
fi

mount -t ext4 /dev/vdb /vmio || { say "no io disk /dev/vdb"; exit 1; }
mkdir -p /vmio/out
{
  echo "kernel=$(uname -r)"
  echo "cgroup_fs=$(stat -fc %T /sys/fs/cgroup)"
  echo "cgroup_controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "apparmor=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"
  echo "lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)"
  echo "podman=$(podman --version)"
  echo "docker=$(dockerd --version)"
} >/vmio/out/guest.txt
cat /vmio/out/guest.txt

start_dockerd() { # dockerd starts its own containerd when none is given
  dockerd --log-level=warn >/run/dockerd.log 2>&1 &
  local i
  for i in $(seq 1 120); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  say "dockerd did not start:"; tail -20 /run/dockerd.log; return 1
}

mkdir -p /etc/containers/containers.conf.d
# No systemd here: podman must manage cgroups itself and log events to a file.
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >/etc/containers/containers.conf.d/50-podrun-vm.conf

case $(sed -n 's/.*podrun\.mode=\([a-z]*\).*/\1/p' /proc/cmdline) in
  matrix)
    start_dockerd || exit 1
    podman images; docker images   # loaded on the host into this disk (vm/lib.sh vm_load_images)
    bash /vmio/in/vm/guest-matrix.sh >/vmio/out/guest-matrix.log 2>&1
    echo "matrix_rc=$?" >>/vmio/out/guest.txt
    tail -40 /vmio/out/guest-matrix.log
    ;;
  *) say "no podrun.mode= on the kernel command line" ;;
esac
