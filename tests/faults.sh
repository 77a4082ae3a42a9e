#!/usr/bin/env bash
# issue 9: injected faults on the real system. Each fault is set up in a
# private mount namespace (`unshare -m`) over a sandbox (/etc behind an
# overlay, HOME, /tmp, /var/tmp and the root graphroot on tmpfs), so nothing
# reaches the host. For each: `check` is timed (must end within LIMIT_MS),
# `exec -- echo` must reach CMD, and the report must name what was found.
#
# Stalls (hung tools, a stalled FUSE mount, a /dev/fuse whose open blocks)
# are run WITHOUT --no-fail: uncertainty alone must not stop the job, and
# the checks resting on them must be unsure (verdict.unsure, never ready).
# Hostile files are run with PODRUN_DOCTOR_NO_FAIL=1: podman fails on such
# a file too, so NOT READY is right there; what is proven is that the
# doctor neither hangs nor crashes and still hands over to CMD.
#
# usage: [FAULTS_ONLY=REGEX] tests/faults.sh [BIN]   (root; default: the musl
# release build)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/x86_64-unknown-linux-musl/release/podrun-doctor}")
LIMIT_MS=${FAULTS_LIMIT_MS:-1500}
HERE=$(pwd)
OUT=$HERE/target/faults
rm -rf "$OUT" && mkdir -p "$OUT"
[[ $(id -u) -eq 0 ]] || { echo "faults.sh needs root (mount namespaces)"; exit 1; }
[[ -x $BIN ]] || { echo "no binary at $BIN"; exit 1; }

total=0 reached=0 failed=0 slowest=0

# The sandbox every fault starts from (runs inside the namespace).
sandbox() {
  mount -t tmpfs -o size=64m tmpfs /run/podrun-faults
  mkdir -p /run/podrun-faults/{u,w}
  mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/podrun-faults/u,workdir=/run/podrun-faults/w /etc
  for d in /root /tmp /var/tmp /var/lib/containers; do
    mkdir -p "$d" && mount -t tmpfs -o size=64m tmpfs "$d"
  done
  mount -t tmpfs tmpfs /usr/local/bin
  mkdir -p /tmp/uhome && chown 65534:65534 /tmp/uhome
  # The user gets sub-ids, so that its baseline is ready as root's is.
  grep -q '^nobody:' /etc/subuid || echo nobody:300000:65536 >>/etc/subuid
  grep -q '^nobody:' /etc/subgid || echo nobody:300000:65536 >>/etc/subgid
}

# A program that hangs the way issue 9 found it: a shell forking `sleep`,
# first in PATH (/usr/local/bin) where no package database vouches for its
# version, so the doctor has to run it. The id helpers keep a setuid bit.
hang_tool() {
  printf '#!/bin/sh\nsleep 600 &\nsleep 600\n' >"/usr/local/bin/$1"
  chmod 4755 "/usr/local/bin/$1"
}

# Puts a hostile KIND at PATH (bind-mounted over an existing file).
hostile() {
  local kind=$1 path=$2 src=/run/podrun-faults/h.$RANDOM
  mkdir -p "$(dirname "$path")"
  case $kind in
    fifo) mkfifo "$src" ;;
    dir) mkdir "$src" ;;
    socket) python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$src" ;;
    loop) rm -f "$path"; ln -s "$path" "$path"; return ;;
    dangling) rm -f "$path"; ln -s /nonexistent/podrun "$path"; return ;;
    mode0000) printf '# unreadable\n' >"$src"; chmod 0000 "$src" ;;
    nonutf8) printf '\xff\xfe\x80 not text\n' >"$src" ;;
    empty) : >"$src" ;;
  esac
  if [[ -e $path || -L $path ]] && [[ $path == /etc/* ]] && [[ $kind != dir && $kind != socket ]]; then
    rm -f "$path"
  fi
  if [[ $kind == dir || $kind == socket ]]; then
    rm -rf "$path"; mv "$src" "$path"
  else
    mv "$src" "$path"
  fi
}

stall_fuse() {  # MOUNTPOINT dir|file: a FUSE mount that never answers
  python3 "$HERE/tests/faults/stall_fuse.py" "$1" "${2:-dir}" >/run/podrun-faults/fuse.log 2>&1 &
  for _ in $(seq 50); do grep -q stalled /run/podrun-faults/fuse.log && return; sleep 0.1; done
  cat /run/podrun-faults/fuse.log; return 1
}

full_tmpfs() {  # HOME and /tmp on a full 16k tmpfs
  for d in "$@"; do
    mount -t tmpfs -o size=16k tmpfs "$d"
    dd if=/dev/zero of="$d/fill" bs=4k count=8 2>/dev/null || true  # ENOSPC: full
  done
}

# One fault: NAME, KIND (stall|idle|hostile|fix), AS (root|user), SETUP, NEEDLE
# (a text the JSON report must contain; empty for none).
fault() {
  local name=$1 kind=$2 as=$3 setup=$4 needle=${5:-}
  local dir=$OUT/$name
  # FAULTS_ONLY=REGEX runs just the faults whose names match (a partial run).
  [[ -n ${FAULTS_ONLY:-} && ! $name =~ $FAULTS_ONLY ]] && return
  mkdir -p "$dir"
  total=$((total + 1))
  local run=(env)
  # Not setpriv: it reads /etc/passwd through NSS and blocks on a FIFO there.
  [[ $as == user ]] && run=(python3 -S "$HERE/tests/faults/as_user.py" 65534 65534 env HOME=/tmp/uhome USER=nobody)
  local nofail=()
  [[ $kind == stall || $kind == idle ]] || nofail=(PODRUN_DOCTOR_NO_FAIL=1)
  unshare -m --propagation private bash -c "
    $(declare -f sandbox hang_tool hostile stall_fuse full_tmpfs)
    HERE='$HERE'
    # Nothing under HOME in PATH: bash itself would stall on a stalled HOME.
    export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    mkdir -p /run/podrun-faults && sandbox || exit 90
    $setup || exit 91
    cd /
    s=\$(date +%s%N)
    timeout 20 ${run[*]} $BIN check --json /run/podrun-faults/check.json >'$dir/check.out' 2>&1
    echo \$? >'$dir/check.rc'
    echo \$(( (\$(date +%s%N) - s) / 1000000 )) >'$dir/check.ms'
    cp /run/podrun-faults/check.json '$dir/check.json' 2>/dev/null
    timeout 30 ${run[*]} ${nofail[*]} $BIN exec -- /bin/echo REACHED-CMD >'$dir/exec.out' 2>&1
    echo \$? >'$dir/exec.rc'
    pkill -P \$\$ -f stall_fuse.py 2>/dev/null; kill \$(jobs -p) 2>/dev/null
    true
  "
  local ms rc verdict ok=1 why=()
  ms=$(cat "$dir/check.ms" 2>/dev/null || echo 99999)
  rc=$(cat "$dir/check.rc" 2>/dev/null || echo none)
  ((ms > slowest)) && slowest=$ms
  ((ms > LIMIT_MS)) && { ok=0; why+=("check took ${ms} ms"); }
  [[ $rc == 124 || $rc == none ]] && { ok=0; why+=("check did not end (rc $rc)"); }
  if grep -q '^REACHED-CMD$' "$dir/exec.out"; then
    reached=$((reached + 1))
  else
    ok=0; why+=("exec did not reach CMD (rc $(cat "$dir/exec.rc" 2>/dev/null))")
  fi
  verdict=$(python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['verdict']; print('ready' if v['ready_before'] else 'not-ready', 'unsure=' + ','.join(v['unsure']))" "$dir/check.json" 2>/dev/null || echo "no-report")
  if [[ $kind == stall && ! $verdict =~ ^not-ready\ unsure=. ]]; then
    ok=0; why+=("a stall must leave checks unsure and the verdict not ready: $verdict")
  fi
  if [[ $kind == stall && $rc != 0 && $rc != 1 ]]; then ok=0; why+=("check exit $rc"); fi
  if [[ -n $needle ]] && ! grep -qF -- "$needle" "$dir/check.json" 2>/dev/null; then
    ok=0; why+=("the report does not name $needle")
  fi
  if ((ok)); then
    printf 'ok    %-34s %5s ms  exit %s  %s\n' "$name" "$ms" "$rc" "$verdict"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s %5s ms  exit %s  %s: %s\n' "$name" "$ms" "$rc" "$verdict" "${why[*]}"
  fi
}

# --- stalls: hung tools, a stalled FUSE mount, a /dev/fuse that blocks ----
for t in podman crun runc newuidmap newgidmap; do
  # Root podman writes its id maps itself and never calls the helpers: for
  # root a hung helper must change nothing (kind idle).
  kind=stall
  [[ $t == new* ]] && kind=idle
  fault "hung-$t-root" $kind root "hang_tool $t"
  fault "hung-$t-user" stall user "hang_tool $t"
done
fault "hung-all-tools-root" stall root "for t in podman crun runc newuidmap newgidmap; do hang_tool \$t; done"
fault "stalled-fuse-home-root" stall root "stall_fuse /root"
fault "stalled-fuse-home-user" stall user "stall_fuse /tmp/uhome"
fault "stalled-fuse-graphroot-root" stall root "stall_fuse /var/lib/containers"
fault "stalled-fuse-graphroot-user" stall user "mkdir -p /tmp/uhome/.local/share/containers && stall_fuse /tmp/uhome/.local/share/containers"
fault "stalled-fuse-etc-containers" stall root "stall_fuse /etc/containers"
fault "blocking-dev-fuse-root" stall root "stall_fuse /dev/fuse file"

# --- hostile files at every path the doctor reads -------------------------
# Root podman reads only the system containers.conf and storage.conf (not
# HOME's), so those are the config paths a root report must name; the others
# (and registries.conf, policy.json, which the doctor does not parse yet —
# issue 7) must still cost no time and no hang.
named="/etc/containers/containers.conf /etc/containers/storage.conf /etc/subuid /etc/subgid /etc/passwd"
for kind in fifo dir socket loop dangling mode0000 nonutf8 empty; do
  needle=""
  case $kind in fifo | dir | socket | loop | nonutf8) needle=yes ;; esac
  for path in /root/.config/containers/containers.conf /root/.config/containers/storage.conf \
    /etc/containers/containers.conf /etc/containers/storage.conf /etc/containers/registries.conf \
    /etc/containers/policy.json /etc/subuid /etc/subgid /etc/passwd; do
    n=""
    [[ -n $needle && " $named " == *" $path "* ]] && n=$path
    # containers/storage stats storage.conf first and, on ELOOP, prints a
    # line and goes on with its defaults: podman does not fail, nor does
    # the doctor, which takes it for absent as podman does.
    [[ $kind == loop && $path == */storage.conf ]] && n=""
    fault "$kind-${path//\//_}" hostile root "hostile $kind $path" "$n"
  done
done
# As a user, where 0000 really is unreadable.
for path in /tmp/uhome/.config/containers/containers.conf /tmp/uhome/.config/containers/storage.conf /etc/subuid /etc/passwd; do
  fault "user-mode0000-${path//\//_}" hostile user "chown -R +65534 /tmp/uhome && hostile mode0000 $path && chown -R +65534 /tmp/uhome/.config 2>/dev/null; true" "$path"
  # The report must say what is at the path, not only name it: "uid N has
  # no entry in /etc/passwd" would name the file and still be wrong.
  needle=$path
  [[ $path == /etc/passwd ]] && needle="/etc/passwd is a FIFO (named pipe)"
  fault "user-fifo-${path//\//_}" hostile user "chown -R +65534 /tmp/uhome && hostile fifo $path && chown -R +65534 /tmp/uhome/.config 2>/dev/null; true" "$needle"
done

# --- faults during fixes --------------------------------------------------
fault "home-readonly-root" fix root "mount -o remount,ro /root"
fault "home-readonly-user" fix user "mount -t tmpfs -o ro tmpfs /tmp/uhome"
fault "home-and-tmp-full-root" fix root "full_tmpfs /root /tmp"
fault "home-full-user" fix user "full_tmpfs /tmp/uhome && chmod 1777 /tmp/uhome"

echo
echo "faults: $total injected, $reached reached CMD, $failed failed; slowest check ${slowest} ms (limit ${LIMIT_MS} ms)"
((failed == 0 && reached == total))
