#!/usr/bin/env bash
# Capture fixture trees from real environments for tests/golden.rs.
#
# Usage: tests/matrix/capture.sh SCENARIO [SCENARIO...]   matrix scenarios (shell globs; --list lists them)
#        tests/matrix/capture.sh --host NAME [--as UID]   this host itself (as root, or as UID via setpriv)
#
# A scenario capture runs `podrun-doctor capture DIR` in a fresh outer container of that scenario (same
# image, options and mounts as the matrix) and copies DIR to $FIXTURES/<scenario>/ (replacing it), with
# expected.json: what real podman did in the last matrix run of that scenario (target/matrix/<name>/result:
# run `run.sh --only NAME` first; without a result no expected.json is written and the script fails).
#
# --host captures this machine as it is, then measures it the way the matrix does: `podman build` of the
# matrix build context as found, then after `eval "$(podrun-doctor env)"` run in a private mount namespace
# with overlays on /etc and /root, so the fixes reach that build but not the host.
#
# Env:   PODRUN_DOCTOR_BIN, PODRUN_MATRIX_CACHE, PODRUN_MATRIX_OUT as for run.sh;
#        PODRUN_FIXTURES_DIR (default tests/fixtures/envs)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FIXTURES=${PODRUN_FIXTURES_DIR:-$REPO_DIR/tests/fixtures/envs}

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 2; }
[ $# -gt 0 ] || usage
if [ "$1" = --list ]; then printf '%s\n' "${SC_NAMES[@]}"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "capture.sh must run as root" >&2; exit 2; }
[ -x "$DOCTOR_BIN" ] || { echo "capture.sh: doctor binary not found at $DOCTOR_BIN (set PODRUN_DOCTOR_BIN)" >&2; exit 2; }

# expected NAME PODMAN FOUND AFTER KEY_ERROR IMAGE OPTIONS STANDS_FOR -> $FIXTURES/NAME/expected.json
expected() {
  jq -n --arg scenario "$1" --arg podman "$2" --arg found "$3" --arg after "$4" --arg err "$5" \
    --arg image "$6" --arg opts "$7" --arg desc "$8" \
    '{scenario: $scenario, podman: $podman, build_as_found: $found, build_after_fix: $after,
      key_error: $err, image: $image, outer_options: $opts, stands_for: $desc}' >"$FIXTURES/$1/expected.json"
}

# fidelity NAME LIVE_JSON: the fixture must give the verdict and check statuses the live check gave
fidelity() {
  local q='[.verdict.ready_before, .verdict.ready_after, (.checks[] | "\(.id) \(.status) \(.status_after)")]'
  if diff <(jq -c "${q}[]" "$2") <("$DOCTOR_BIN" --root "$FIXTURES/$1" check --json - 2>/dev/null | jq -c "${q}[]") >"$WORK/$1.fidelity"; then
    mlog "$1: the fixture gives the live verdict and check statuses"
  else
    mlog "$1: the fixture's report DIFFERS from the live one (< live, > fixture):"; sed 's/^/    /' "$WORK/$1.fidelity" >&2
    return 1
  fi
}

# tidy NAME: sane modes for git (the capture runs as the job's uid, with its umask)
tidy() {
  chown -R --reference="$REPO_DIR" "$FIXTURES/$1" 2>/dev/null || true
  find "$FIXTURES/$1" -type d -exec chmod 0755 {} +
  find "$FIXTURES/$1" -type f -exec chmod 0644 {} +
}

podman_of() { # check.json host.json -> the podman version (the live report's, which is taken after the
  # fixes: podman 5 cannot even print its version with HOME=/), else the captured `podman --version`
  local v
  v=$(jq -r '.context.podman // empty' "$1" 2>/dev/null || true)
  [ -n "$v" ] || v=$(jq -r '[.commands // {} | to_entries[] | select(.key | test("(^|/)podman --version$"))
          | .value.stdout? // "" | capture("version (?<v>[0-9][0-9.]*)").v] | first // ""' "$2" 2>/dev/null || true)
  printf '%s' "$v"
}

matrix_lock
WORK=$(mktemp -d /tmp/podrun-capture.XXXXXX); chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
CTXROOT=$WORK/ctx
make_context "$CTXROOT/std"   # same mounts as the matrix, so the capture sees what check sees
make_context "$CTXROOT/nofile" nofile
CTX=$CTXROOT/std

if [ "$1" = --host ]; then
  NAME=${2:?--host NAME}; AS=${4:-}
  [ "${3:-}" = "" ] || [ "$3" = --as ] || usage
  as=(); desc="this host as root"
  if [ -n "$AS" ]; then
    as=(setpriv "--reuid=$AS" "--regid=$AS" --clear-groups --reset-env); desc="this host as uid $AS (setpriv --reuid=$AS --regid=$AS --clear-groups --reset-env)"
  fi
  # What earlier runs as this uid left in /tmp (the doctor's and podman's per-uid dirs) is not "as found".
  leftovers() { [ -z "$AS" ] || rm -rf "/tmp/podrun-$AS" "/tmp/podrun-run-$AS" "/tmp/storage-run-$AS" "/tmp/containers-user-$AS" "/tmp/podman-run-$AS"; }
  leftovers
  cp "$DOCTOR_BIN" "$WORK/podrun-doctor"; chmod 0755 "$WORK/podrun-doctor"
  mkdir -p "$WORK/out"; chmod 0777 "$WORK/out"
  cd "$WORK"
  "${as[@]}" "$WORK/podrun-doctor" capture "$WORK/out/capture"
  "${as[@]}" "$WORK/podrun-doctor" check --json "$WORK/out/check.json" >/dev/null 2>&1 || true
  # shellcheck disable=SC2016  # $0 is expanded by the inner sh
  build() { timeout "$INNER_TIMEOUT" "${as[@]}" sh -c "$1"' podman build --no-cache -t localhost/podrun-capture-test "$0"' "$CTX" >"$WORK/$2.log" 2>&1; }
  if build true\; found; then found=built; else found=failed; fi
  mlog "as found: $found"
  # The fixes go into overlays on /etc and /root in a private mount namespace: they reach the build but
  # not the host (only /tmp and podman's storage see real writes).
  mkdir -p "$WORK/ovl"; : >"$WORK/env.stderr"; chmod 0666 "$WORK/env.stderr"
  # shellcheck disable=SC2016
  if timeout "$INNER_TIMEOUT" unshare -m --propagation private sh -c '
      set -e; d=$1; shift
      for t in etc root; do
        mkdir -p "$d/upper/$t" "$d/work/$t"
        mount -t overlay overlay -o "lowerdir=/$t,upperdir=$d/upper/$t,workdir=$d/work/$t" "/$t"
      done
      exec "$@"' sh "$WORK/ovl" "${as[@]}" sh -c \
      'eval "$("$1" env 2>"$2")"; podman build --no-cache -t localhost/podrun-capture-test "$0"' \
      "$CTX" "$WORK/podrun-doctor" "$WORK/env.stderr" >"$WORK/after.log" 2>&1
  then after=built; else after=failed; fi
  mlog "after eval \"\$(podrun-doctor env)\": $after; the fixes wrote (kept out of the host):"
  (cd "$WORK/ovl/upper" && find . -type f | sed 's/^\./    /' >&2)
  grep -a -E '^(changes made|    (created|appended|replaced) )' "$WORK/env.stderr" >&2 || true
  podman rmi -f localhost/podrun-capture-test >/dev/null 2>&1 || true
  leftovers
  err=''
  [ $found = built ] || err=$(key_error "$WORK/found.log")
  rm -rf "${FIXTURES:?}/$NAME"; mkdir -p "$FIXTURES"
  cp -a "$WORK/out/capture" "$FIXTURES/$NAME"
  # This VM's own agent (its PID 1, the cgroup it puts us in, a private mount of its own) is no part
  # of what a job would see: stand in a plain init, a neutral cgroup path, and drop that mount.
  f=$FIXTURES/$NAME/root/proc
  [ -f "$f/1/cmdline" ] && printf '/sbin/init\0' >"$f/1/cmdline"
  [ -f "$f/self/cgroup" ] && sed -i -E 's#:/process_api/[0-9a-f]+$#:/job#' "$f/self/cgroup"
  [ -f "$f/self/mountinfo" ] && sed -i '\# /mnt/sandboxing/#d' "$f/self/mountinfo"
  expected "$NAME" "$(podman_of "$WORK/out/check.json" "$FIXTURES/$NAME/host.json")" "$found" "$after" "$err" "(the host)" "" "$desc"
  tidy "$NAME"
  fidelity "$NAME" "$WORK/out/check.json" || true   # differs by design where the agent's PID 1 was replaced
  mlog "$NAME: fixture -> $FIXTURES/$NAME ($(find "$FIXTURES/$NAME" -type f | wc -l) files, $(du -sb "$FIXTURES/$NAME" | cut -f1) bytes)"
  exit 0
fi

SEL=()
for n in "${SC_NAMES[@]}"; do
  for p in "$@"; do
    # shellcheck disable=SC2053
    if [ "$p" = --all ] || [[ $n == $p ]]; then SEL+=("$n"); break; fi
  done
done
[ ${#SEL[@]} -gt 0 ] || { echo "capture.sh: no scenario matches $*" >&2; exit 2; }
for n in "${SEL[@]}"; do
  # The engines of engines.sh are started only by run.sh.
  [ "${SC_ENGINE[$n]}" = podman ] || { echo "capture.sh: $n runs under ${SC_ENGINE[$n]}; only podman-lane scenarios can be captured" >&2; exit 2; }
done

ensure_tools
imgs=(); for n in "${SEL[@]}"; do [[ " ${imgs[*]} " == *" ${SC_IMAGE[$n]} "* ]] || imgs+=("${SC_IMAGE[$n]}"); done
"$MATRIX_DIR/images.sh" "${imgs[@]}"
outer_limits "localhost/podrun-job:${imgs[0]}"
setup_devices
setup_seccomp
for n in "${SEL[@]}"; do ensure_variant "${SC_IMAGE[$n]}" "${SC_VARIANT[$n]}"; done
# shellcheck disable=SC2034  # used by outer() in lib.sh
RUNID=$$

rc=0
for n in "${SEL[@]}"; do
  out=$WORK/$n
  outer "$n" capture capture "$WORK/$n.log" "$out"
  crc=$(grep -a '^@@capture_rc=' "$WORK/$n.log" | tail -1 | cut -d= -f2 || true)
  if [ "$crc" != 0 ] || [ ! -d "$out/capture" ]; then
    mlog "$n: capture failed (rc=${crc:-none}); log:"; grep -av '^@@' "$WORK/$n.log" | tail -20 >&2
    rc=1; continue
  fi
  rm -rf "${FIXTURES:?}/$n"; mkdir -p "$FIXTURES"
  cp -a "$out/capture" "$FIXTURES/$n"
  res=$OUT_ROOT/$n/result
  if [ -f "$res" ]; then
    r() { grep -a "^$1=" "$res" | head -1 | cut -d= -f2- || true; }
    expand_opts "$n"
    expected "$n" "$(podman_of "$out/check.json" "$FIXTURES/$n/host.json")" "$(r found)" "$(r after_env)" "$(r error)" \
      "$(image_for "$n")" "${SC_OPTS[$n]}" "${SC_DESC[$n]}"
  else
    mlog "$n: no matrix result at $res: run tests/matrix/run.sh --only $n, then capture again"; rc=1
  fi
  tidy "$n"
  fidelity "$n" "$out/check.json" || rc=1
  mlog "$n: fixture -> $FIXTURES/$n ($(find "$FIXTURES/$n" -type f | wc -l) files, $(du -sb "$FIXTURES/$n" | cut -f1) bytes)"
done
exit $rc
