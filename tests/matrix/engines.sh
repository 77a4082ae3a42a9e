# shellcheck shell=bash
# Outer engines besides the host's podman: Debian's dockerd (what GitLab's docker executor drives) and
# containerd driven with ctr (the runtime of Kubernetes nodes).  Sourced by lib.sh.
#
# Each engine is started by the matrix itself, with its own state under $ENGINE_DIR, and stopped by
# engines_stop (run.sh's EXIT trap), also when the run fails.  Nothing of the host's configuration is
# used or changed: no /etc/docker, no /run/containerd/containerd.sock, no iptables rules (dockerd runs
# with --iptables=false; its docker0 bridge is removed again when it was not there before).
#
# Host quirk: the host lacks CAP_SYS_RESOURCE, so runc refuses a privileged spec that asks for it
# ("unable to apply caps").  Both engines run runc through $RUNC_WRAP, which drops CAP_SYS_RESOURCE
# from the bundle's config.json and execs runc — the same capability set the podman lane's outer
# containers get here.  Nothing else of the spec is touched.

ENGINE_DIR=$CACHE/engines
RUNC_WRAP=$ENGINE_DIR/runc-nosysresource
# ctr sets no-new-privileges on every spec, also with --privileged; a privileged pod never has it
# (Kubernetes refuses privileged with allowPrivilegeEscalation=false, and CRI leaves it off).  The ctr
# lane's privileged rows run through this second wrapper, which also clears noNewPrivileges.
RUNC_WRAP_POD=$ENGINE_DIR/runc-nosysresource-privileged-pod
CTRD_DIR=$ENGINE_DIR/containerd
CTRD_SOCK=$CTRD_DIR/state/containerd.sock
CTRD_NS=podrun-matrix
DOCKERD_DIR=$ENGINE_DIR/docker
DOCKER_SOCK=$DOCKERD_DIR/docker.sock
DOCKERD_BIN=/usr/sbin/dockerd
DOCKER_BIN=/usr/bin/docker          # Debian's docker.io CLI (20.10); /usr/local/bin/docker is another one
DOCKER=("$DOCKER_BIN" -H "unix://$DOCKER_SOCK")
CTR=(ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS")
ENGINES_STARTED=()

engines_needed() { # scenario names -> the engines they need, one per line (podman not included)
  local n
  for n in "$@"; do [ "${SC_ENGINE[$n]}" = podman ] || echo "${SC_ENGINE[$n]}"; done | sort -u
}

engine_missing() { # engine -> the reason it cannot run here, or nothing
  case $1 in
    docker) [ -x "$DOCKERD_BIN" ] && [ -x "$DOCKER_BIN" ] || echo "docker lane: $DOCKERD_BIN or $DOCKER_BIN missing (Debian package docker.io; tests/setup.sh installs it)"
            command -v containerd >/dev/null || echo "docker lane: containerd missing (Debian package containerd)" ;;
    ctr) command -v containerd >/dev/null && command -v ctr >/dev/null || echo "containerd lane: containerd or ctr missing (Debian package containerd)" ;;
  esac
  command -v jq >/dev/null || echo "$1 lane: jq missing (the runc wrapper edits config.json with it)"
}

setup_runc_wrapper() {
  mkdir -p "$ENGINE_DIR"
  cat >"$RUNC_WRAP.tmp" <<'EOF'
#!/bin/sh
# podrun-doctor matrix: runc without CAP_SYS_RESOURCE (this host has none to give; see tests/matrix/engines.sh).
b=; prev=
for a in "$@"; do
  case $prev in --bundle|-b) b=$a ;; esac
  case $a in --bundle=*) b=${a#--bundle=} ;; esac
  prev=$a
done
if [ -n "$b" ] && [ -f "$b/config.json" ]; then
  jq -c --arg nnp "${PODRUN_CLEAR_NNP:-}" '(if .process.capabilities then .process.capabilities |= with_entries(.value |= map(select(. != "CAP_SYS_RESOURCE"))) else . end)
    | if $nnp == "1" then .process.noNewPrivileges = false else . end' \
    "$b/config.json" >"$b/config.json.podrun" && mv "$b/config.json.podrun" "$b/config.json"
fi
exec /usr/sbin/runc "$@"
EOF
  chmod 0755 "$RUNC_WRAP.tmp"; mv "$RUNC_WRAP.tmp" "$RUNC_WRAP"
  printf '#!/bin/sh\n# privileged pod: no no-new-privileges (see engines.sh)\nPODRUN_CLEAR_NNP=1 exec %s "$@"\n' "$RUNC_WRAP" >"$RUNC_WRAP_POD.tmp"
  chmod 0755 "$RUNC_WRAP_POD.tmp"; mv "$RUNC_WRAP_POD.tmp" "$RUNC_WRAP_POD"
}

wait_for() { # seconds command... : poll until the command succeeds
  local n=$(( $1 * 5 )); shift
  while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done
  return 1
}

containerd_start() {
  rm -rf "$CTRD_DIR/state"; mkdir -p "$CTRD_DIR/root" "$CTRD_DIR/state"
  cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$CTRD_SOCK.debug"
EOF
  containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
  echo $! >"$CTRD_DIR/containerd.pid"
  ENGINES_STARTED+=(containerd)
  wait_for 30 "${CTR[@]}" version || { mlog "containerd did not answer on $CTRD_SOCK:"; tail -20 "$CTRD_DIR/containerd.log" >&2; return 1; }
  mlog "containerd $(containerd --version | awk '{print $3}') started (pid $(cat "$CTRD_DIR/containerd.pid"), $CTRD_SOCK)"
}

dockerd_start() {
  mkdir -p "$DOCKERD_DIR/data" "$DOCKERD_DIR/exec"
  echo '{}' >"$DOCKERD_DIR/daemon.json"
  DOCKER0_WAS_THERE=0; ip link show docker0 >/dev/null 2>&1 && DOCKER0_WAS_THERE=1
  "$DOCKERD_BIN" --config-file "$DOCKERD_DIR/daemon.json" --data-root "$DOCKERD_DIR/data" --exec-root "$DOCKERD_DIR/exec" \
    --pidfile "$DOCKERD_DIR/dockerd.pid" -H "unix://$DOCKER_SOCK" --containerd "$CTRD_SOCK" \
    --containerd-namespace podrun-moby --containerd-plugins-namespace podrun-moby-plugins \
    --add-runtime "podrun-runc=$RUNC_WRAP" --default-runtime podrun-runc \
    --iptables=false --ip-masq=false --ip-forward=false --bip 10.231.0.1/24 --userland-proxy=false \
    --storage-driver overlay2 --log-level warn >"$DOCKERD_DIR/dockerd.log" 2>&1 &
  echo $! >"$DOCKERD_DIR/dockerd.bgpid"
  ENGINES_STARTED+=(dockerd)
  wait_for 60 "${DOCKER[@]}" version || { mlog "dockerd did not answer on $DOCKER_SOCK:"; tail -20 "$DOCKERD_DIR/dockerd.log" >&2; return 1; }
  mlog "dockerd $("${DOCKER[@]}" version -f '{{.Server.Version}}') started (pid $(cat "$DOCKERD_DIR/dockerd.bgpid"), $DOCKER_SOCK)"
}

stop_pid() { # pidfile name: TERM, then KILL after 20 s
  local pid n=100
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
  while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; n=$((n - 1)); done
  kill -0 "$pid" 2>/dev/null && { mlog "$2 (pid $pid) did not stop: KILL"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$1"
}

engines_stop() { # the reverse of the starts; safe to call twice
  local e
  for e in $(printf '%s\n' "${ENGINES_STARTED[@]}" | tac); do
    case $e in
      dockerd)
        "${DOCKER[@]}" ps -aq 2>/dev/null | xargs -r "${DOCKER[@]}" rm -f >/dev/null 2>&1 || true
        stop_pid "$DOCKERD_DIR/dockerd.bgpid" dockerd
        [ "${DOCKER0_WAS_THERE:-1}" = 1 ] || ip link del docker0 2>/dev/null || true ;;
      containerd)
        "${CTR[@]}" tasks ls -q 2>/dev/null | xargs -r -n1 "${CTR[@]}" tasks kill -s KILL >/dev/null 2>&1 || true
        sleep 0.5
        "${CTR[@]}" containers ls -q 2>/dev/null | xargs -r "${CTR[@]}" containers rm >/dev/null 2>&1 || true
        stop_pid "$CTRD_DIR/containerd.pid" containerd ;;
    esac
    mlog "$e stopped"
  done
  ENGINES_STARTED=()
}

engines_start() { # engine names (docker, ctr): start what they need; fail (never skip) when one cannot run
  local e why=() need_ctrd=0 need_docker=0
  for e in "$@"; do
    while IFS= read -r l; do [ -n "$l" ] && why+=("$l"); done < <(engine_missing "$e")
    case $e in docker) need_ctrd=1; need_docker=1 ;; ctr) need_ctrd=1 ;; esac
  done
  if [ ${#why[@]} -gt 0 ]; then printf '%s\n' "${why[@]}" | while read -r l; do mlog "LANE CANNOT RUN: $l"; done; return 1; fi
  [ $need_ctrd = 1 ] || return 0
  setup_runc_wrapper
  containerd_start || return 1
  [ $need_docker = 0 ] || dockerd_start
}

# Images: podman's image, loaded once per image id (the engines keep their stores under $ENGINE_DIR,
# so warm runs load nothing).
engine_load_image() { # engine ref
  local id mark
  id=$(podman image inspect --format '{{.Id}}' "$2")
  mark=$ENGINE_DIR/loaded-$1-$(printf %s "$2" | tr '/:' '__')
  case $1 in
    docker)
      [ "$("${DOCKER[@]}" image inspect --format '{{.Id}}' "$2" 2>/dev/null)" = "sha256:$id" ] && return 0
      mlog "docker: loading $2 (podman save | docker load)"
      podman save --format docker-archive "$2" 2>/dev/null | "${DOCKER[@]}" load -q >/dev/null ;;
    ctr)
      [ "$(cat "$mark" 2>/dev/null)" = "$id" ] && "${CTR[@]}" images ls -q | grep -qx "$2" && return 0
      mlog "containerd: importing $2 (podman save | ctr image import)"
      podman save --format docker-archive "$2" 2>/dev/null | "${CTR[@]}" images import - >/dev/null && echo "$id" >"$mark" ;;
  esac
}

# ctr has no bridge of its own: a pod gets a network namespace with one interface from CNI.  Each ctr
# container gets a fresh namespace with a veth pair (no route off the host: nothing is pulled).
ctr_netns_up() { # container name -> CTR_NETNS (path): a namespace named and addressed by a hash of the name
  local h ns a b
  h=$(printf %s "$1" | sha256sum | cut -c1-8)
  ns=pm$h; a=$(( 0x${h:0:2} )); b=$(( (0x${h:2:2} & 0x3f) * 4 ))
  ip netns add "$ns"
  ip link add "v$ns" type veth peer name eth0 netns "$ns"
  ip addr add "10.232.$a.$((b + 1))/30" dev "v$ns"; ip link set "v$ns" up
  ip -n "$ns" addr add "10.232.$a.$((b + 2))/30" dev eth0
  ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "10.232.$a.$((b + 1))"
  CTR_NETNS=/var/run/netns/$ns
}
ctr_netns_down() { local ns=${1##*/}; ip link del "v$ns" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
