# shellcheck shell=bash
# shellcheck disable=SC2034  # OUT_ROOT, SC_DESC etc. are used by the scripts that source this
# Shared by run.sh and capture.sh: paths, scenarios, image variants, build context, outer `podman run`.
# Sourced, not executed.

MATRIX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$MATRIX_DIR/../.." && pwd)
CACHE=${PODRUN_MATRIX_CACHE:-/var/cache/podrun-doctor-matrix}
OUT_ROOT=${PODRUN_MATRIX_OUT:-$REPO_DIR/target/matrix}
DOCTOR_BIN=${PODRUN_DOCTOR_BIN:-$REPO_DIR/target/x86_64-unknown-linux-musl/release/podrun-doctor}
case $DOCTOR_BIN in /*) ;; *) DOCTOR_BIN=$REPO_DIR/$DOCTOR_BIN ;; esac
OUTER_TIMEOUT=${PODRUN_MATRIX_OUTER_TIMEOUT:-420}   # whole outer container
INNER_TIMEOUT=${PODRUN_MATRIX_INNER_TIMEOUT:-300}   # each inner podman build

mlog() { printf '[matrix %s] %s\n' "$(date +%T)" "$*" >&2; }

matrix_lock() {
  # One matrix run (or capture) at a time on a host: they share images, $CACHE and $OUT_ROOT.
  local lock=${PODRUN_MATRIX_LOCK:-/run/lock/podrun-doctor-matrix.lock}
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  if ! flock -n 9; then
    mlog "another matrix run or capture holds $lock; waiting for it"
    flock 9
  fi
}

ensure_tools() {
  local need=()
  command -v jq >/dev/null || need+=(jq)
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
  if [ ${#need[@]} -gt 0 ]; then
    mlog "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# ---------------------------------------------------------------------------------------------
# Scenarios.  scenario NAME IMAGE VARIANT "OUTER PODMAN RUN OPTIONS" "what it stands for"
# IMAGE: deb12 (podman 4.3) | deb13 (podman 5.4).  VARIANT: see variant_setup below.
# Options are split on whitespace (none of them contains a space).
# VARIANT "doctor" is the project's own image (image/Containerfile) on top of IMAGE: its ENTRYPOINT is
# `podrun-doctor exec --`.  Steps 1-4 always run with `--entrypoint ''` (the job as found, the doctor
# run by hand); SC_ENTRY[NAME]=honour adds step 5, the build through the image's entrypoint.
# `lane ENGINE TAG` sets the outer engine (podman | docker | ctr) and the tag (`--only @TAG`) of the
# scenarios that follow it; options are in that engine's own `run` syntax (see engines.sh, expand_opts).
SC_NAMES=(); declare -A SC_IMAGE SC_VARIANT SC_OPTS SC_DESC SC_ENTRY SC_ENGINE SC_TAG
LANE_ENGINE=podman LANE_TAG=base
lane() { LANE_ENGINE=$1 LANE_TAG=$2; }
scenario() {
  SC_NAMES+=("$1"); SC_IMAGE[$1]=$2; SC_VARIANT[$1]=$3; SC_OPTS[$1]=$4; SC_DESC[$1]=$5; SC_ENTRY[$1]=${6:-}
  SC_ENGINE[$1]=$LANE_ENGINE; SC_TAG[$1]=$LANE_TAG
}

# uid 0, rootful
scenario deb12-root-priv        deb12 plain "--privileged" "docker executor privileged=true / k8s privileged, root"
scenario deb13-root-priv        deb13 plain "--privileged" "docker executor privileged=true / k8s privileged, root"
scenario deb12-root-default     deb12 plain "" "docker executor defaults, root: default seccomp, default caps, masked /proc, no /dev/fuse"
scenario deb13-root-default     deb13 plain "" "docker executor defaults, root"
scenario deb12-root-fuse-nnp    deb12 plain "--device=/dev/fuse --security-opt=no-new-privileges" "GitLab root recipe: privileged=false, allow_privilege_escalation=false, /dev/fuse"
scenario deb13-root-fuse-nnp    deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges" "GitLab root recipe: privileged=false, allow_privilege_escalation=false, /dev/fuse"
scenario deb13-root-unconfined-fuse deb13 plain "--security-opt=seccomp=unconfined --device=/dev/fuse" "root, seccomp Unconfined, /dev/fuse, masked /proc"
scenario deb13-root-fuse-nnp-capdrop-setfcap deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges --cap-drop=SETFCAP" "GitLab root recipe, cap_drop SETFCAP"
scenario deb12-root-fuse-capdrop-setid deb12 plain "--device=/dev/fuse --cap-drop=SETUID,SETGID" "root, /dev/fuse, cap_drop SETUID,SETGID"
scenario deb12-root-capdrop-all deb12 plain "--cap-drop=ALL" "root, cap_drop ALL"
scenario deb13-root-capadd-sysadmin deb13 plain "--cap-add=SYS_ADMIN" "root, cap_add SYS_ADMIN, default seccomp, masked /proc"
scenario deb12-root-priv-readonly deb12 plain "--privileged --read-only" "root privileged, read_only_root_filesystem (podman adds tmpfs /tmp /var/tmp /run)"
# uid 1000, rootless
scenario deb12-rootless-priv    deb12 plain "--privileged --user=1000" "GitLab rootless recipe: privileged=true, run_as_user=1000"
scenario deb13-rootless-priv    deb13 plain "--privileged --user=1000" "GitLab rootless recipe: privileged=true, run_as_user=1000"
scenario deb13-rootless-default deb13 plain "--user=1000" "docker executor defaults, user 1000"
scenario deb12-rootless-unconfined deb12 plain "--user=1000 --security-opt=seccomp=unconfined" "user 1000, seccomp Unconfined, masked /proc, no /dev/fuse"
scenario deb13-rootless-unconfined-fuse-unmask deb13 plain "--user=1000 --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse" "user 1000, seccomp Unconfined, procMount Unmasked, /dev/fuse, default caps"
scenario deb13-rootless-capdrop-setid deb13 plain "--user=1000 --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse --cap-drop=SETUID,SETGID" "as above, cap_drop SETUID,SETGID"
scenario deb13-rootless-priv-hostdev deb13 plain "--privileged --user=1000 @hostdev" "rootless recipe with this host's own /dev/fuse and /dev/net/tun (mode 0600)"
scenario deb13-rootless-priv-nnp deb13 plain "--privileged --user=1000 --security-opt=no-new-privileges" "rootless recipe + allow_privilege_escalation=false"
scenario deb12-rootless-priv-home-slash deb12 plain "--privileged --user=1000 --env=HOME=/" "rootless recipe, HOME=/ (k8s without HOME)"
scenario deb13-rootless-priv-home-slash deb13 plain "--privileged --user=1000 --env=HOME=/" "rootless recipe, HOME=/ (k8s without HOME)"
scenario deb13-rootless-priv-xdg-root deb13 plain "--privileged --user=1000 --env=XDG_RUNTIME_DIR=/run/user/0" "rootless recipe, inherited XDG_RUNTIME_DIR=/run/user/0"
scenario deb13-rootless-priv-readonly deb13 plain "--privileged --user=1000 --read-only --tmpfs=/builds:rw,mode=1777" "rootless recipe, read_only_root_filesystem, emptyDir /builds (+podman's tmpfs /tmp /var/tmp /run)"
# subordinate ID problems (image variants)
scenario deb12-nosubuid-priv    deb12 nosubuid "--privileged --user=1000" "rootless recipe, image without /etc/subuid and /etc/subgid"
scenario deb13-nosubuid-priv    deb13 nosubuid "--privileged --user=1000" "rootless recipe, image without /etc/subuid and /etc/subgid"
scenario deb13-subuid-overlap-priv deb13 overlap "--privileged --user=1000" "rootless recipe, subuid/subgid podman:1:65536 (contains own uid 1000)"
scenario deb12-subuid-small-priv deb12 small "--privileged --user=1000" "rootless recipe, subuid/subgid podman:100000:1000 (too small for uid 1234/2000)"
# newuidmap/newgidmap with file capabilities instead of setuid root (as Fedora/quay.io images ship them)
scenario deb13-filecaps-rootless-unconfined-fuse-unmask deb13 filecaps "--user=1000 --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse" "file-capability newuidmap; user 1000, unconfined, unmasked, /dev/fuse, default caps"
scenario deb13-filecaps-rootless-default deb13 filecaps "--user=1000" "file-capability newuidmap; docker executor defaults, user 1000"
# storage.conf with mount_program
scenario deb12-fuseconf-root-nnp-nofuse deb12 fuseconf "--security-opt=no-new-privileges" "root recipe without /dev/fuse, image storage.conf mount_program=fuse-overlayfs"
scenario deb13-fuseconf-rootless-nofuse deb13 fuseconf "--user=1000 --security-opt=seccomp=unconfined --security-opt=unmask=ALL" "user 1000 unconfined, no /dev/fuse, image storage.conf mount_program=fuse-overlayfs"
# OpenShift-like arbitrary uid with gid 0
scenario deb12-openshift-uid-priv deb12 plain "--privileged --user=1000680000:0" "arbitrary uid 1000680000:0 (no passwd entry), privileged"
scenario deb13-openshift-gu-priv deb13 gu "--privileged --user=1000680000:0" "arbitrary uid, image did chmod g=u /etc/passwd /etc/subuid /etc/subgid, privileged"
scenario deb13-openshift-uid-priv-home deb13 plain "--privileged --user=1000680000:0 --env=HOME=/tmp" "arbitrary uid (no passwd entry), privileged, HOME=/tmp (runner environment sets HOME)"
scenario deb13-openshift-gu-priv-home deb13 gu "--privileged --user=1000680000:0 --env=HOME=/tmp" "arbitrary uid, g=u image, privileged, HOME=/tmp"
scenario deb13-openshift-gu-fuse deb13 gu "--user=1000680000:0 --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse" "arbitrary uid, g=u image, custom SCC-ish: unconfined, unmasked, /dev/fuse"
scenario deb13-openshift-restricted deb13 gu "--user=1000680000:0 --cap-drop=ALL --security-opt=no-new-privileges" "OpenShift restricted-v2: arbitrary uid, drop ALL, NNP, default seccomp, no fuse"
# upstream-like image configuration (quay.io/podman/stable settings)
scenario deb13-upstream-rootless-priv deb13 upstream "--privileged --user=1000" "quay.io/podman/stable-like image, rootless recipe"
scenario deb13-upstream-rootless-fuse deb13 upstream "--user=1000 --device=/dev/fuse --security-opt=seccomp=unconfined" "quay.io/podman/stable-like image, user 1000, unconfined, /dev/fuse, masked /proc"
scenario deb13-upstream-root-priv deb13 upstream "--privileged" "quay.io/podman/stable-like image, root privileged"
scenario deb12-upstream-root-fuse-nnp deb12 upstream "--device=/dev/fuse --security-opt=no-new-privileges" "quay.io/podman/stable-like image, GitLab root recipe"
# the project's own image (image/Containerfile: doctor baked in, ENTRYPOINT podrun-doctor exec --, g=u identity files)
scenario img12-rootless-priv    deb12 doctor "--privileged --user=1000" "doctor image, GitLab rootless recipe, entrypoint honoured (docker executor / FF_KUBERNETES_HONOR_ENTRYPOINT)" honour
scenario img13-rootless-priv    deb13 doctor "--privileged --user=1000" "doctor image, GitLab rootless recipe, entrypoint honoured" honour
scenario img12-root-fuse-nnp    deb12 doctor "--device=/dev/fuse --security-opt=no-new-privileges" "doctor image, GitLab root recipe, entrypoint honoured" honour
scenario img13-root-fuse-nnp    deb13 doctor "--device=/dev/fuse --security-opt=no-new-privileges" "doctor image, GitLab root recipe, entrypoint honoured" honour
scenario img13-openshift-priv   deb13 doctor "--privileged --user=1000680000:0" "doctor image, arbitrary uid 1000680000:0 (no passwd entry, HOME=/), privileged, entrypoint honoured" honour
scenario img13-openshift-fuse   deb13 doctor "--user=1000680000:0 --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse" "doctor image, arbitrary uid, custom SCC-ish (unconfined, unmasked, /dev/fuse, default caps), entrypoint honoured" honour
scenario img13-root-default-noentry deb13 doctor "" "doctor image, root, docker defaults, entrypoint overridden (k8s without FF_KUBERNETES_HONOR_ENTRYPOINT): eval \"\$(podrun-doctor env)\" in before_script = step 3"
scenario img13-rootless-priv-noentry deb13 doctor "--privileged --user=1000 --env=HOME=/" "doctor image, rootless recipe with HOME=/, entrypoint overridden: eval \"\$(podrun-doctor env)\" in before_script = step 3"
# Added 2026-11-28 (see README "Scenarios added 2026-11-28").
# The job container in a user namespace of 65536 IDs (k8s `hostUsers: false`, rootless outer engine) [U4].
# `--privileged` and a user namespace cannot be combined here: podman then bind-mounts the host's own /dev
# nodes (0600 on this host) over everything, so "privileged" is spelled out: all caps, unconfined, unmasked,
# /dev/fuse and /dev/net/tun (which is what a rootless outer `podman run --privileged` gives on a real host).
UNS="--uidmap=0:100000:65536 --gidmap=0:100000:65536"
ALLCAPS="--cap-add=ALL --security-opt=seccomp=unconfined --security-opt=unmask=ALL --device=/dev/fuse --device=/dev/net/tun"
scenario deb13-userns-rootless-allcaps deb13 plain "--user=1000 $UNS $ALLCAPS" "user 1000 in a 65536-ID user namespace (rootless outer podman --privileged / hostUsers:false with all caps), upstream sub-ids podman:1:999,1001:64535 (fit)"
scenario deb12-userns-rootless-fuse deb12 plain "--user=1000 $UNS --device=/dev/fuse" "user 1000 in a 65536-ID user namespace, default caps, /dev/fuse (k8s hostUsers:false + fuse device plugin)"
scenario deb13-userns-filecaps-rootless-fuse-unmask deb13 filecaps "--user=1000 $UNS --device=/dev/fuse --security-opt=unmask=ALL" "file-capability newuidmap, user 1000 in a 65536-ID user namespace, default caps, /dev/fuse, procMount Unmasked (allowed with hostUsers:false)"
scenario deb13-userns-subuid-outside-allcaps deb13 outside "--user=1000 $UNS $ALLCAPS" "as deb13-userns-rootless-allcaps, sub-ids podman:100000:65536 (outside the parent map: newuidmap fails)"
scenario deb13-userns-outsidegu-allcaps deb13 outsidegu "--user=1000:0 $UNS $ALLCAPS" "as above, uid 1000 gid 0, identity files chgrp 0 + chmod g=u (OpenShift pattern): the job could rewrite them"
scenario deb13-userns-outsidegu-grp0-allcaps deb13 outsidegu "--user=1000 --group-add=0 $UNS $ALLCAPS" "as above, uid 1000 gid 1000 with supplementary group 0 (can write the g=u identity files)"
scenario deb13-userns-gu-uid5000-allcaps deb13 gu "--user=5000:0 $UNS $ALLCAPS" "arbitrary uid 5000:0 (no passwd entry) in a 65536-ID user namespace, g=u identity files (OpenShift userns pod): sub-ids must be chosen inside 0-65535"
scenario deb13-userns-root-fuse deb13 plain "$UNS --device=/dev/fuse" "root in a 65536-ID user namespace, default caps, /dev/fuse: podman copies /proc/self/uid_map"
scenario deb12-userns-root-fuse deb12 plain "$UNS --device=/dev/fuse" "root in a 65536-ID user namespace, default caps, /dev/fuse (podman 4.3)"
# podman's (and Docker's, containerd's) default seccomp allows sethostname only with CAP_SYS_ADMIN: a nested
# RUN with OCI isolation and its own UTS namespace then fails in crun
scenario deb13-filecaps-rootless-fuse-tun-unmask deb13 filecaps "--user=1000 --device=/dev/fuse --device=/dev/net/tun --security-opt=unmask=ALL" "file-capability newuidmap, user 1000, default seccomp and caps, /dev/fuse, /dev/net/tun, procMount Unmasked"
scenario deb13-root-fuse-unmask deb13 plain "--device=/dev/fuse --security-opt=unmask=ALL" "root, default seccomp and caps, /dev/fuse, procMount Unmasked (no /dev/net/tun)"
scenario deb12-root-fuse-unmask deb12 plain "--device=/dev/fuse --security-opt=unmask=ALL" "same, podman 4.3"
# Docker's default seccomp profile (generated from podman's, see setup_seccomp) [N2, N4]
scenario deb13-filecaps-rootless-dockerseccomp deb13 filecaps "--user=1000 --device=/dev/fuse @dockerseccomp" "docker executor defaults (Docker's seccomp: unshare/clone(CLONE_NEWUSER)/mount need CAP_SYS_ADMIN, no keyctl), user 1000, file-capability newuidmap, /dev/fuse"
scenario deb13-root-fuse-dockerseccomp deb13 plain "--device=/dev/fuse @dockerseccomp" "docker executor, root, devices=[/dev/fuse], Docker's default seccomp"
scenario deb12-root-fuse-dockerseccomp deb12 plain "--device=/dev/fuse @dockerseccomp" "docker executor, root, devices=[/dev/fuse], Docker's default seccomp (podman 4.3)"
scenario deb13-root-sysadmin-fuse-dockerseccomp deb13 plain "--cap-add=SYS_ADMIN --device=/dev/fuse @dockerseccomp" "docker executor, root, cap_add SYS_ADMIN (unshare allowed again), /dev/fuse, Docker's seccomp: keyctl still refused (N4)"
# proposed by a teammate: read-only rootfs on podman 5; rootful with default caps missing from the bounding set
scenario deb13-root-priv-readonly deb13 plain "--privileged --read-only" "root privileged podman 5, read_only_root_filesystem (override route)"
scenario deb12-root-sysadmin-capdrop deb12 plain "--cap-add=SYS_ADMIN --cap-drop=KILL,NET_BIND_SERVICE --security-opt=unmask=ALL --device=/dev/fuse" "rootful, default caps outside the bounding set"
scenario deb13-root-sysadmin-capdrop deb13 plain "--cap-add=SYS_ADMIN --cap-drop=KILL,NET_BIND_SERVICE --security-opt=unmask=ALL --device=/dev/fuse" "same, podman 5 (plus E6)"
# storage on an emptyDir-like volume at the graphroot (the usual Kubernetes advice): native overlay possible
scenario deb13-rootless-priv-emptydir deb13 plain "--privileged --user=1000 @emptydir=/home/podman/.local/share/containers" "rootless recipe + emptyDir at ~/.local/share/containers (fresh host dir, 0777)"
scenario deb13-root-fuse-nnp-emptydir deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges @emptydir=/var/lib/containers" "GitLab root recipe + emptyDir at /var/lib/containers"
scenario deb12-root-default-emptydir deb12 plain "@emptydir=/var/lib/containers" "root, docker defaults (no /dev/fuse) + volume at /var/lib/containers"
scenario deb13-filecaps-rootless-tmpfs deb13 filecaps "--user=1000 --tmpfs=/home/podman/.local/share/containers:rw,mode=1777" "file-capability newuidmap, user 1000, docker defaults (no /dev/fuse), emptyDir medium=Memory (tmpfs) at ~/.local/share/containers"
unset UNS ALLCAPS
# Issue 7: images as users build them, dockerd and containerd as outer engines, the field failures.
. "$MATRIX_DIR/scenarios-wide.sh"
lane podman base
. "$MATRIX_DIR/engines.sh"

# ---------------------------------------------------------------------------------------------
# Image variants: a root shell snippet run once in the base image and committed (cached by hash).
variant_setup() {
  case $1 in
    plain) ;;
    nosubuid) echo 'rm -f /etc/subuid /etc/subgid' ;;
    overlap) echo "printf 'podman:1:65536\n' >/etc/subuid; printf 'podman:1:65536\n' >/etc/subgid" ;;
    small) echo "printf 'podman:100000:1000\n' >/etc/subuid; printf 'podman:100000:1000\n' >/etc/subgid" ;;
    outside) echo "printf 'podman:100000:65536\n' >/etc/subuid; printf 'podman:100000:65536\n' >/etc/subgid" ;;
    outsidegu) echo "printf 'podman:100000:65536\n' >/etc/subuid; printf 'podman:100000:65536\n' >/etc/subgid; chgrp 0 /etc/passwd /etc/subuid /etc/subgid && chmod g=u /etc/passwd /etc/subuid /etc/subgid" ;;
    fuseconf) cat <<'EOF'
mkdir -p /etc/containers
cat >/etc/containers/storage.conf <<'CONF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev,fsync=0"
CONF
EOF
    ;;
    filecaps) echo 'chmod u-s /usr/bin/newuidmap /usr/bin/newgidmap && setcap cap_setuid=ep /usr/bin/newuidmap && setcap cap_setgid=ep /usr/bin/newgidmap' ;;
    gu) echo 'chgrp 0 /etc/passwd /etc/subuid /etc/subgid && chmod g=u /etc/passwd /etc/subuid /etc/subgid' ;;
    upstream) cat <<'EOF'
mkdir -p /etc/containers /home/podman/.config/containers /var/lib/shared/overlay-images /var/lib/shared/overlay-layers /var/lib/shared/vfs-images /var/lib/shared/vfs-layers
touch /var/lib/shared/overlay-images/images.lock /var/lib/shared/overlay-layers/layers.lock /var/lib/shared/vfs-images/images.lock /var/lib/shared/vfs-layers/layers.lock
cat >/etc/containers/containers.conf <<'CONF'
[containers]
netns="host"
userns="host"
ipcns="host"
utsns="host"
cgroupns="host"
cgroups="disabled"
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger="file"
runtime="crun"
CONF
cat >/etc/containers/storage.conf <<'CONF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = [
"/var/lib/shared",
]

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev,fsync=0"
CONF
cat >/home/podman/.config/containers/containers.conf <<'CONF'
[containers]
volumes = [
	"/proc:/proc",
]
default_sysctls = []
CONF
chown -R 1000:1000 /home/podman/.config
mkdir -p /var/lib/containers /home/podman/.local/share/containers
chown 1000:1000 /home/podman/.local /home/podman/.local/share /home/podman/.local/share/containers
EOF
    ;;
    # issue 7: the rootless network helpers one at a time (buildah's rule, docs/field-notes.md)
    noslirp) echo 'rm -f /usr/bin/slirp4netns' ;;
    nopasta) echo 'rm -f /usr/bin/pasta /usr/bin/pasta.avx2 /usr/bin/passt /usr/bin/passt.avx2' ;;
    slirpconf) echo 'rm -f /usr/bin/pasta /usr/bin/pasta.avx2 /usr/bin/passt /usr/bin/passt.avx2; mkdir -p /etc/containers; printf "[network]\ndefault_rootless_network_cmd = \"slirp4netns\"\n" >/etc/containers/containers.conf' ;;
    fwipt) echo 'mkdir -p /etc/containers; printf "[network]\nfirewall_driver = \"iptables\"\n" >/etc/containers/containers.conf' ;;
    # 0600 configuration files, as a umask-077 image build leaves them (COPY/cat > under umask 077)
    umask-containers) echo 'mkdir -p /etc/containers; (umask 077; printf "[containers]\nlog_driver = \"k8s-file\"\n" >/etc/containers/containers.conf)' ;;
    umask-storage) echo 'mkdir -p /etc/containers; (umask 077; printf "[storage]\ndriver = \"overlay\"\n" >/etc/containers/storage.conf)' ;;
    umask-registries) echo 'chmod 0600 /etc/containers/registries.conf' ;;
    umask-policy) echo 'chmod 0600 /etc/containers/policy.json' ;;
    u1000) echo 'true' ;;
    # a FIFO named vfs-images in the rootless graphroot: storage >= 1.47 takes vfs from the name alone
    # overlay and vfs store directories in the rootful graphroot: storage >= 1.47 refuses to pick one
    priorboth) echo 'mkdir -p /var/lib/containers/storage/overlay /var/lib/containers/storage/vfs' ;;
    # a rootful store made with vfs (libpod's database records vfs), as an earlier job's cache leaves it
    dbvfs) echo 'podman --storage-driver vfs info >/dev/null' ;;
    # a first podman command as root on an overlay root without fuse-overlayfs: it runs on vfs, and
    # overlay's refusal leaves /var/lib/containers/storage/overlay for the next command to fail on
    firstrun) echo 'podman info >/dev/null && test -d /var/lib/containers/storage/overlay' ;;
    priorfifo) echo 'mkdir -p /home/podman/.local/share/containers/storage && mkfifo /home/podman/.local/share/containers/storage/vfs-images && chown -R 1000:1000 /home/podman/.local' ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}
variant_changes() { # extra `podman commit --change` lines per variant (one per line)
  case $1 in
    u1000) printf '%s\n' 'USER 1000' ;;   # ctr run has no --user: the image says who runs
    upstream) printf '%s\n' 'ENV _CONTAINERS_USERNS_CONFIGURED=""' 'ENV BUILDAH_ISOLATION=chroot' \
      'VOLUME /var/lib/containers' 'VOLUME /home/podman/.local/share/containers' ;;
  esac
}

outer_limits() {
  # The host lacks CAP_SYS_RESOURCE: never ask for more than the hard limits podman itself runs with.
  # Those can be lower than the shell's (on this host podman runs with nproc 32768 while `ulimit -Hu`
  # says 96364), so read them from the conmon of a throwaway container (arg: an image to use).
  local n u f cid pid cn cu
  n=$(ulimit -Hn); u=$(ulimit -Hu)
  [ "$n" = unlimited ] && n=1048576
  [ "$u" = unlimited ] && u=4194304
  if [ -n "${1:-}" ]; then
    f=$(mktemp)
    if cid=$(podman run -d --rm --runtime runc --network none --conmon-pidfile "$f" \
              --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$1" sleep 30 2>/dev/null); then
      pid=$(cat "$f" 2>/dev/null || true)
      if [ -n "$pid" ] && [ -r "/proc/$pid/limits" ]; then
        cn=$(awk '/^Max open files/ {print $5}' "/proc/$pid/limits")
        cu=$(awk '/^Max processes/ {print $4}' "/proc/$pid/limits")
        [[ $cn =~ ^[0-9]+$ ]] && [ "$cn" -lt "$n" ] && n=$cn
        [[ $cu =~ ^[0-9]+$ ]] && [ "$cu" -lt "$u" ] && u=$cu
      fi
      podman rm -f -t 0 "$cid" >/dev/null 2>&1 || true
    fi
    rm -f "$f"
  fi
  OUTER_BASE=(--runtime runc --ulimit "nofile=$n:$n" --ulimit "nproc=$u:$u")
  NOFILE_HARD=$n
}

setup_devices() {
  # Host quirk: /dev/fuse and /dev/net/tun are 0600 on this host (no udev); CI nodes have 0666.  Scenarios
  # that are given the devices get 0666 nodes of our own (same major:minor), see README "Host quirks".
  DEVDIR=$CACHE/dev
  mkdir -p "$DEVDIR"
  [ -c "$DEVDIR/fuse" ] || mknod -m 0666 "$DEVDIR/fuse" c 10 229
  [ -c "$DEVDIR/net-tun" ] || mknod -m 0666 "$DEVDIR/net-tun" c 10 200
  chmod 0666 "$DEVDIR/fuse" "$DEVDIR/net-tun"
}

expand_opts() { # scenario -> OPTS array (placeholders -> real options)
  # @hostdev            keep the host's own 0600 /dev/fuse and /dev/net/tun (default: our 0666 nodes)
  # --device=/dev/fuse  -> our 0666 node.  In a user namespace (--uidmap/--userns) podman bind-mounts the
  #   *host's* node at the destination path whatever the source says, so there the device is given at our
  #   node's own path (for the device cgroup rule) and the node is bind-mounted at /dev/fuse.
  #   --device=/dev/net/tun the same.
  # @dockerseccomp      --security-opt=seccomp=<Docker-like profile made by setup_seccomp>
  # @emptydir=PATH      a fresh empty 0777 host directory at PATH (made per outer container by outer())
  # @emptydir1777=PATH  the same with mode 1777 (root-owned, sticky: an emptyDir a pod's HOME sits on)
  # @tmpfs64inodes=PATH a 256 MiB tmpfs with 64 inodes, mode 1777, mounted on the host and bind-mounted
  #                     (the host's podman 4.3 refuses nr_inodes in --tmpfs)
  # @nofile1024         --ulimit nofile=1024:<hard> (the soft limit Docker >= 25 / containerd 2 give)
  # @ctx=NAME           the build context (default std; nofile: a RUN that opens 1100 files)
  [ "${SC_ENGINE[$1]}" = ctr ] && { expand_opts_ctr "$1"; return; }
  local o hostdev=0 userns=0 src
  OPTS=()
  [[ " ${SC_OPTS[$1]} " == *" @hostdev "* ]] && hostdev=1
  [[ " ${SC_OPTS[$1]} " == *" --uidmap"* || " ${SC_OPTS[$1]} " == *" --userns="* ]] && userns=1
  for o in ${SC_OPTS[$1]}; do
    case $o in
      @hostdev) ;;
      --device=/dev/fuse|--device=/dev/net/tun)
        src=$DEVDIR/fuse; [ "$o" = --device=/dev/fuse ] || src=$DEVDIR/net-tun
        if [ $hostdev = 1 ]; then OPTS+=("$o")
        elif [ $userns = 1 ]; then OPTS+=("--device=$src:$src" -v "$src:${o#--device=}")
        else OPTS+=("--device=$src:${o#--device=}"); fi ;;
      --privileged) OPTS+=("$o"); [ $hostdev = 1 ] || OPTS+=(-v "$DEVDIR/fuse:/dev/fuse" -v "$DEVDIR/net-tun:/dev/net/tun") ;;
      @dockerseccomp) OPTS+=("--security-opt=seccomp=$SECCOMP_DOCKER") ;;
      @emptydir=*) OPTS+=(-v "@emptydir@0777:${o#@emptydir=}") ;;
      @emptydir1777=*) OPTS+=(-v "@emptydir@1777:${o#@emptydir1777=}") ;;
      @tmpfs64inodes=*) OPTS+=(-v "@emptydir@tmpf:${o#@tmpfs64inodes=}") ;;
      @nofile1024) OPTS+=(--ulimit "nofile=1024:$NOFILE_HARD") ;;
      @ctx=*) ;;
      *) OPTS+=("$o") ;;
    esac
  done
}

expand_opts_ctr() { # ctr run options: devices, binds and env in ctr's syntax (see README "containerd lane")
  local o cg=ro
  # containerd's default spec has no cgroup mount (/sys/fs/cgroup stays sysfs); CRI adds one, read-only
  # unless the pod is privileged.  Add it as CRI does.
  [[ " ${SC_OPTS[$1]} " == *" --privileged "* ]] && cg=rw
  OPTS=(--mount "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=nosuid:noexec:nodev:relatime:$cg")
  for o in ${SC_OPTS[$1]}; do
    case $o in
      --privileged) OPTS+=(--privileged --mount "type=bind,src=$DEVDIR/fuse,dst=/dev/fuse,options=rbind:rw"
                           --mount "type=bind,src=$DEVDIR/net-tun,dst=/dev/net/tun,options=rbind:rw") ;;
      # ctr gives the host's node (0600 here) at the same path: bind our 0666 node over it
      --device=/dev/fuse) OPTS+=(--device /dev/fuse --mount "type=bind,src=$DEVDIR/fuse,dst=/dev/fuse,options=rbind:rw") ;;
      --device=/dev/net/tun) OPTS+=(--device /dev/net/tun --mount "type=bind,src=$DEVDIR/net-tun,dst=/dev/net/tun,options=rbind:rw") ;;
      --env=*) OPTS+=(--env "${o#--env=}") ;;
      --cap-add=*) OPTS+=(--cap-add "${o#--cap-add=}") ;;
      @emptydir=*) OPTS+=(--mount "type=bind,src=@emptydir@0777,dst=${o#@emptydir=},options=rbind:rw") ;;
      @emptydir1777=*) OPTS+=(--mount "type=bind,src=@emptydir@1777,dst=${o#@emptydir1777=},options=rbind:rw") ;;
      @ctx=*) ;;
      *) OPTS+=("$o") ;;
    esac
  done
}
ctx_of() { # scenario -> build context name
  local o
  for o in ${SC_OPTS[$1]}; do case $o in @ctx=*) echo "${o#@ctx=}"; return ;; esac; done
  echo std
}

# A Docker-like default seccomp profile (moby/profiles seccomp/default.json logic) made from the outer
# podman's own /usr/share/containers/seccomp.json: EPERM as the default errno; unshare, setns, mount,
# umount(2), pivot_root and the new mount API only with CAP_SYS_ADMIN; clone only without namespace flags
# (mask 0x7E020000) unless CAP_SYS_ADMIN; clone3 -> ENOSYS unless CAP_SYS_ADMIN; keyctl, add_key and
# request_key not at all (moby has none of them).  Podman's own profile allows all of these.
# Podman 4.3 ignores a profile's defaultErrnoRet (it keeps ENOSYS), so the refusals are explicit EPERM
# rules, as Docker's answers are: one per namespace flag for clone (libseccomp has no "masked not equal").
SECCOMP_DOCKER=$CACHE/seccomp-docker.json
setup_seccomp() {
  local src=/usr/share/containers/seccomp.json tmp
  [ -r "$src" ] || { mlog "no $src: cannot make the Docker-like seccomp profile"; return 1; }
  mkdir -p "$CACHE"; tmp=$(mktemp "$CACHE/seccomp-docker.XXXXXX")
  jq '
    ["unshare","setns","mount","umount","umount2","pivot_root","fsopen","fsconfig","fsmount","fspick",
     "move_mount","open_tree","mount_setattr"] as $sysadmin
    | ["keyctl","add_key","request_key"] as $never
    | .defaultErrnoRet = 1
    | .syscalls = ([.syscalls[]
        | if .action == "SCMP_ACT_ALLOW" and ((.includes // {}) | length) == 0
             and ((.excludes // {}) | length) == 0 and ((.args // []) | length) == 0
          then .names -= ($sysadmin + $never + ["clone", "clone3"]) else . end
        | select((.names | length) > 0)]
      + [{names: ($sysadmin + ["clone", "clone3"]), action: "SCMP_ACT_ALLOW", args: [],
          includes: {caps: ["CAP_SYS_ADMIN"]}, excludes: {}},
         {names: ["clone"], action: "SCMP_ACT_ALLOW",
          args: [{index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ"}],
          includes: {}, excludes: {caps: ["CAP_SYS_ADMIN"]}},
         {names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38, args: [],
          includes: {}, excludes: {caps: ["CAP_SYS_ADMIN"]}},
         {names: $sysadmin, action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [],
          includes: {}, excludes: {caps: ["CAP_SYS_ADMIN"]}},
         {names: $never, action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [], includes: {}, excludes: {}}]
      + [(131072, 33554432, 67108864, 134217728, 268435456, 536870912, 1073741824) as $ns
         | {names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
            args: [{index: 0, value: $ns, valueTwo: $ns, op: "SCMP_CMP_MASKED_EQ"}],
            includes: {}, excludes: {caps: ["CAP_SYS_ADMIN"]}}])
  ' "$src" >"$tmp" && mv "$tmp" "$SECCOMP_DOCKER"
  chmod 0644 "$SECCOMP_DOCKER"
}

tail_chars() { local s=$1 n=$2; if [ ${#s} -gt "$n" ]; then printf %s "${s:${#s}-n}"; else printf %s "$s"; fi; }
key_error() { # the line that tells why a build failed: the last "Error:" line, plus the log's last line
  local e l
  e=$(grep -a -E '^Error: |^Error |level=(error|fatal)|^ERRO' "$1" | tail -1 || true)
  l=$(grep -a 'error running container: ' "$1" | tail -1 | sed 's/.*\]: //' || true)
  [ -n "$l" ] || l=$(grep -av '^@@' "$1" | grep -av '^\(== \|CapEff\)' | grep -av '^: exit status' | grep -a . | tail -1 || true)
  if [ -z "$e" ]; then e=$l
  elif [ -n "$l" ] && [ "$l" != "$e" ]; then e="${e:0:200} ... $(tail_chars "$l" 250)"
  elif [ ${#e} -gt 450 ]; then e="${e:0:200} ... $(tail_chars "$e" 250)"; fi
  printf '%s' "$e" | tr '\t' ' ' | sed -E 's/time="[^"]*" //g'
}

# outer NAME STEP MODE LOG [out-dir]: one fresh outer container running inner.sh MODE, in the
# scenario's engine (podman, docker or ctr)
outer() {
  local name=$1 step=$2 mode=$3 log=$4 outdir=${5:-} cname rc t0 binds=() m cmd=() wrap src dst mo
  cname="podrun-matrix-$RUNID-$name-$step"
  binds=("$CTXROOT/$(ctx_of "$name"):/podrun-ctx:ro" "$MATRIX_DIR/inner.sh:/podrun-matrix/inner.sh:ro" "$MATRIX_DIR/purity.sh:/podrun-matrix/purity.sh:ro")
  if [ -n "$outdir" ]; then
    mkdir -p "$outdir"; chmod 0777 "$outdir"
    binds+=("$outdir:/podrun-out:rw" "$DOCTOR_BIN:/usr/local/bin/podrun-doctor:ro")
  fi
  expand_opts "$name"
  entry_opts "$name" "$step"
  emptydirs "$cname"
  case ${SC_ENGINE[$name]} in
    podman|docker)
      if [ "${SC_ENGINE[$name]}" = podman ]; then cmd=(podman run "${OUTER_BASE[@]}"); else cmd=("${DOCKER[@]}" run "${OUTER_BASE[@]:2}"); fi
      cmd+=(--rm --name "$cname" "${OPTS[@]}" "${ENTRY[@]}")
      for m in "${binds[@]}"; do cmd+=(-v "$m"); done
      cmd+=("$(image_for "$name")") ;;
    ctr)
      ctr_netns_up "$cname"
      wrap=$RUNC_WRAP; [[ " ${OPTS[*]} " == *" --privileged "* ]] && wrap=$RUNC_WRAP_POD
      cmd=("${CTR[@]}" run --rm --runc-binary "$wrap" --with-ns "network:$CTR_NETNS" "${OPTS[@]}")
      for m in "${binds[@]}"; do
        IFS=: read -r src dst mo <<<"$m"
        cmd+=(--mount "type=bind,src=$src,dst=$dst,options=rbind:$mo")
      done
      cmd+=("$(image_for "$name")" "$cname") ;;
  esac
  t0=$(date +%s%N)
  set +e
  timeout -k 10 "$OUTER_TIMEOUT" "${cmd[@]}" bash /podrun-matrix/inner.sh "$mode" "$INNER_TIMEOUT" >"$log" 2>&1
  rc=$?
  set -e
  echo "@@outer_rc=$rc" >>"$log"
  echo "@@outer_secs=$(( ($(date +%s%N) - t0) / 1000000 ))" >>"$log"
  if [ $rc = 124 ] || [ $rc = 137 ]; then outer_kill "$name" "$cname"; fi
  [ "${SC_ENGINE[$name]}" = ctr ] && ctr_netns_down "$CTR_NETNS"
  if [ -d "$WORK/emptydir/$cname" ]; then
    find "$WORK/emptydir/$cname" -mindepth 1 -maxdepth 1 -type d -exec mountpoint -q {} \; -exec umount {} \; 2>/dev/null || true
  fi
  rm -rf "${WORK:?}/emptydir/$cname"
}
outer_kill() { # scenario container: remove a container its timeout left behind
  case ${SC_ENGINE[$1]} in
    podman) podman rm -f -t 0 "$2" >/dev/null 2>&1 || true ;;
    docker) "${DOCKER[@]}" rm -f "$2" >/dev/null 2>&1 || true ;;
    ctr) "${CTR[@]}" tasks kill -s KILL "$2" >/dev/null 2>&1; sleep 1; "${CTR[@]}" containers rm "$2" >/dev/null 2>&1 || true ;;
  esac
}
emptydirs() { # container name: every @emptydir@MODE in OPTS becomes a fresh directory under $WORK/emptydir/
  local i n=0 d mode
  for i in "${!OPTS[@]}"; do
    case ${OPTS[$i]} in
      *@emptydir@*)
        mode=${OPTS[$i]#*@emptydir@}; mode=${mode:0:4}
        d=$WORK/emptydir/$1/$n; n=$((n + 1))
        mkdir -p "$d"
        if [ "$mode" = tmpf ]; then mount -t tmpfs -o size=256m,nr_inodes=64,mode=1777 podrun-matrix "$d"; else chmod "$mode" "$d"; fi
        OPTS[i]=${OPTS[$i]/@emptydir@$mode/$d} ;;
    esac
  done
}
entry_opts() { # scenario step -> ENTRY array: doctor-image steps 1-4 bypass the image's ENTRYPOINT
  ENTRY=()
  [ "${SC_VARIANT[$1]}" = doctor ] && [ "$2" != entry ] && ENTRY=(--entrypoint '')
  # Through the entrypoint too, podman must run after a NOT READY (see inner.sh).
  [ "$2" = entry ] && ENTRY=(--env=PODRUN_DOCTOR_NO_FAIL=1)
  return 0
}
image_for() { # scenario -> image reference (variant images are built on demand)
  local img=${SC_IMAGE[$1]} var=${SC_VARIANT[$1]}
  if [ "$var" = plain ]; then echo "localhost/podrun-job:$img"; else echo "localhost/podrun-job:$img-$var"; fi
}

ensure_variant() { # image variant -> builds localhost/podrun-job:<image>-<variant> if stale
  local img=$1 var=$2 base setup hash cur ref cname changes=() line
  [ "$var" = plain ] && return 0
  [ "$var" = doctor ] && { ensure_doctor_image "$img"; return; }
  base=$(podman image inspect --format '{{.Id}}' "localhost/podrun-job:$img")
  setup=$(variant_setup "$var")
  hash=$( { echo "$base"; echo "$setup"; variant_changes "$var"; } | sha256sum | cut -c1-16)
  ref="localhost/podrun-job:$img-$var"
  cur=$(podman image inspect --format '{{index .Labels "podrun.matrix.variant"}}' "$ref" 2>/dev/null || true)
  [ "$cur" = "$hash" ] && return 0
  mlog "building variant $ref"
  cname="podrun-matrix-variant-$img-$var-$$"
  podman rm -f "$cname" >/dev/null 2>&1 || true
  podman run "${OUTER_BASE[@]}" --network none --name "$cname" "localhost/podrun-job:$img" /bin/bash -euc "$setup" >/dev/null
  changes=(--change "LABEL podrun.matrix.variant=$hash")
  while IFS= read -r line; do [ -n "$line" ] && changes+=(--change "$line"); done < <(variant_changes "$var")
  podman commit -q "${changes[@]}" "$cname" "$ref" >/dev/null
  podman rm -f "$cname" >/dev/null
}

# The project's own image: image/Containerfile with --build-arg BASE=localhost/podrun-job:<image> and
# the doctor binary under test, built with the host's podman (runc: the host's crun refuses its hybrid
# cgroups).  Cached by label: a hash of the base image id, the Containerfile and the binary.
ensure_doctor_image() {
  local img=$1 base hash cur ref ctx rc=0
  ref="localhost/podrun-job:$img-doctor"
  [ -x "$DOCTOR_BIN" ] || { mlog "no doctor binary at $DOCTOR_BIN: cannot build $ref"; return 1; }
  base=$(podman image inspect --format '{{.Id}}' "localhost/podrun-job:$img")
  hash=$( { echo "$base"; sha256sum <"$REPO_DIR/image/Containerfile"; sha256sum <"$DOCTOR_BIN"; } | sha256sum | cut -c1-16)
  cur=$(podman image inspect --format '{{index .Labels "podrun.matrix.variant"}}' "$ref" 2>/dev/null || true)
  [ "$cur" = "$hash" ] && return 0
  mlog "building $ref from image/Containerfile"
  ctx=$(mktemp -d /tmp/podrun-image.XXXXXX)
  cp "$REPO_DIR/image/Containerfile" "$ctx/Containerfile"
  cp "$DOCTOR_BIN" "$ctx/podrun-doctor"
  podman build -q --pull=never --runtime runc "${OUTER_BASE[@]:2}" --network none \
    --build-arg "BASE=localhost/podrun-job:$img" --label "podrun.matrix.variant=$hash" \
    -t "$ref" "$ctx" >"$ctx/build.log" 2>&1 || rc=$?
  [ $rc = 0 ] || { mlog "building $ref failed:"; tail -20 "$ctx/build.log" >&2; }
  rm -rf "$ctx"
  # The image this one replaced is left untagged: drop it (only ours carry the label).
  podman image prune -f --filter label=podrun.matrix.variant >/dev/null 2>&1 || true
  return $rc
}

# The inner build context: FROM scratch + a busybox rootfs with a file owned by 2000:2000, then a RUN
# that chowns a file to 1234:1234.  Needs IDs 0, 1234 and 2000 inside the build: single-ID mode fails.
# The RUN also prints which network namespace it ran in (@@run_netns, @@run_ifaces: compared with the
# job's own by run.sh to name the network podman used) and never fails on that.
# KIND nofile: a second RUN opens 1100 files at once (podman 4 passes the job's soft nofile to RUN).
make_context() {
  local dir=$1 kind=${2:-std} rf
  rf=$(mktemp -d); chmod 0755 "$rf"
  mkdir -p "$dir" "$rf/bin" "$rf/data" "$rf/tmp" "$rf/etc"
  cp /bin/busybox "$rf/bin/busybox"
  ln -s busybox "$rf/bin/sh"
  echo 'root:x:0:0:root:/:/bin/sh' >"$rf/etc/passwd"
  echo 'root:x:0:' >"$rf/etc/group"
  echo owned-by-2000 >"$rf/data/owned-by-2000"; chown 2000:2000 "$rf/data/owned-by-2000"
  echo chown-me >"$rf/data/chown-me"
  chmod 1777 "$rf/tmp"
  cat >"$rf/netprobe" <<'EOF'
echo "@@run_netns=$(/bin/busybox readlink /proc/self/ns/net)"
echo "@@run_ifaces=$(/bin/busybox ip -o -4 addr 2>/dev/null | /bin/busybox awk '{printf "%s=%s ", $2, $4}')"
true
EOF
  tar --numeric-owner -C "$rf" -cf "$dir/rootfs.tar" .
  rm -rf "$rf"
  cat >"$dir/Containerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
RUN /bin/busybox chown 1234:1234 /data/chown-me && /bin/busybox ls -ln /data && /bin/busybox sh /netprobe
EOF
  if [ "$kind" = nofile ]; then
    cat >>"$dir/Containerfile" <<'EOF'
RUN /bin/busybox sh -c 'echo "soft nofile $(ulimit -n)"; i=3; while [ $i -le 1100 ]; do eval "exec $i</bin/busybox" || exit 7; i=$((i+1)); done; echo opened 1100 files'
EOF
  fi
  chmod -R a+rX "$dir"
}
