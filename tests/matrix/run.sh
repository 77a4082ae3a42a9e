#!/usr/bin/env bash
# podrun-doctor scenario matrix: real podman in real nested job containers as the test of truth.
#
# For every scenario (a set of outer `podman run` options standing for a pod spec / runner config),
# each step in a FRESH outer container:
#   1  podman build as the job would run it, nothing done first          -> built | failed
#   2  podrun-doctor check --json -                                      -> .verdict.ready_before must equal 1
#   3  eval "$(podrun-doctor env --json F)"; podman build               -> outcome must equal ready_after (from 2)
#   4  podrun-doctor exec -- podman build                                -> must build wherever 3 builds
#   5  (doctor-image scenarios with SC_ENTRY=honour) podman build through the image's own ENTRYPOINT
#      (`podrun-doctor exec --`; steps 1-4 run with --entrypoint '')     -> outcome must equal ready_after
#
# Usage: tests/matrix/run.sh [--list] [--only NAME[,NAME...]] [-j 1|2] [--step1-only] [--vm DIR]
#   --vm DIR: the VM lane's results (tests/matrix/vm/run.sh, target/matrix-vm) join this table, results.json
#   and the closing `N passed, N failed`; a DIR without VM rows is a NOLANE row (the lane could not run).
#   --only accepts shell globs (deb13-*) and lane tags (@base, @wide, @docker, @ctr); may be repeated.
#   Step 3 also runs `env` a second time in the fixed environment: it must change nothing.
# Env:   PODRUN_DOCTOR_BIN (default target/x86_64-unknown-linux-musl/release/podrun-doctor)
#        PODRUN_MATRIX_OUT (default target/matrix), PODRUN_MATRIX_CACHE (default /var/cache/podrun-doctor-matrix)
# Exit:  0 all scenarios OK; 1 a wrong verdict / false "ready" / doctor step unavailable; 2 usage/setup error.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JOBS=2; ONLY=(); LIST=0; STEP1_ONLY=0; VM_OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --list) LIST=1 ;;
    --only) ONLY+=("${2:?--only NAME}"); shift ;;
    --only=*) ONLY+=("${1#--only=}") ;;
    -j) JOBS=${2:?-j N}; shift ;;
    -j*) JOBS=${1#-j} ;;
    --step1-only) STEP1_ONLY=1 ;;
    --vm) VM_OUT=${2:?--vm DIR}; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $JOBS =~ ^[12]$ ]] || { echo "run.sh: -j must be 1 or 2" >&2; exit 2; }

selected() {
  local n=$1 arg pat q
  [ ${#ONLY[@]} -eq 0 ] && return 0
  for arg in "${ONLY[@]}"; do
    IFS=, read -ra q <<<"$arg"
    for pat in "${q[@]}"; do
      # shellcheck disable=SC2053
      [[ $n == $pat ]] && return 0
      [ "$pat" = "@${SC_TAG[$n]}" ] && return 0
    done
  done
  return 1
}
SEL=()
for n in "${SC_NAMES[@]}"; do selected "$n" && SEL+=("$n"); done

if [ $LIST = 1 ]; then
  for n in "${SEL[@]}"; do printf '%-44s %-6s %-7s %-8s %-16s %-7s %s\n' "$n" "${SC_ENGINE[$n]}" "@${SC_TAG[$n]}" "${SC_IMAGE[$n]}" "${SC_VARIANT[$n]}" "${SC_ENTRY[$n]:--}" "${SC_OPTS[$n]:-(defaults)}"; done
  exit 0
fi
[ ${#SEL[@]} -gt 0 ] || { echo "run.sh: no scenario matches ${ONLY[*]}" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh must run as root (rootful outer podman)" >&2; exit 2; }

matrix_lock
T_START=$(date +%s)
ensure_tools
imgs=(); for n in "${SEL[@]}"; do [[ " ${imgs[*]} " == *" ${SC_IMAGE[$n]} "* ]] || imgs+=("${SC_IMAGE[$n]}"); done
"$MATRIX_DIR/images.sh" "${imgs[@]}"
outer_limits "localhost/podrun-job:${imgs[0]}"
mlog "outer podman run base options: ${OUTER_BASE[*]}"

setup_devices
setup_seccomp

for n in "${SEL[@]}"; do ensure_variant "${SC_IMAGE[$n]}" "${SC_VARIANT[$n]}"; done
KERNEL=$(uname -r)   # where the outer engines run (the VM lane reports its own)

RUNID=$$
WORK=$(mktemp -d /tmp/podrun-matrix.XXXXXX); chmod 0755 "$WORK"
CTXROOT=$WORK/ctx
make_context "$CTXROOT/std" std
make_context "$CTXROOT/nofile" nofile
mkdir -p "$OUT_ROOT"
HAVE_DOCTOR=0; [ -x "$DOCTOR_BIN" ] && HAVE_DOCTOR=1
if [ $HAVE_DOCTOR = 1 ]; then mlog "doctor: $DOCTOR_BIN"; else mlog "doctor binary not found at $DOCTOR_BIN: steps 2-4 reported as n/a"; fi
[ $STEP1_ONLY = 1 ] && HAVE_DOCTOR=0 && mlog "--step1-only: doctor steps skipped"

cleanup() {
  local pids
  engines_stop
  pids=$(jobs -pr) || true
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  # No leftover container is the usual case: grep then fails, and under
  # errexit a failing trap would turn the script's exit status into 1.
  { podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^podrun-matrix-$RUNID-" || true; } |
    while read -r c; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Outer engines other than podman: started here, stopped by cleanup.  A lane that cannot run fails its
# rows (verdict NOLANE), it is never skipped.
mapfile -t ENGINES < <(engines_needed "${SEL[@]}")
NOLANE=()
if [ ${#ENGINES[@]} -gt 0 ]; then
  T_ENG=$(date +%s)
  if engines_start "${ENGINES[@]}"; then
    for n in "${SEL[@]}"; do
      [ "${SC_ENGINE[$n]}" = podman ] || engine_load_image "${SC_ENGINE[$n]}" "$(image_for "$n")" || NOLANE+=("$n")
    done
  else
    for n in "${SEL[@]}"; do [ "${SC_ENGINE[$n]}" = podman ] || NOLANE+=("$n"); done
  fi
  mlog "engines ${ENGINES[*]}: started and images loaded in $(( $(date +%s) - T_ENG ))s"
fi

val() { grep -a "^@@$2=" "$1" 2>/dev/null | tail -1 | cut -d= -f2- || true; }
outcome() { # log -> built | failed | timeout | na | error
  local rc; rc=$(val "$1" build_rc)
  case $rc in
    0) echo built ;; 124|137) echo timeout ;; na) echo na ;; '') echo error ;; *) echo failed ;;
  esac
}
jbool() { # file jq-path -> true|false|?
  local v
  v=$(jq -r "$2 | if type == \"boolean\" then tostring else \"?\" end" "$1" 2>/dev/null) || v='?'
  echo "${v:-?}"
}

net_used() { # build log -> the network the RUN step had: host | pasta | slirp4netns | bridge | none | -
  local rn ifs ip
  rn=$(val "$1" run_netns); [ -n "$rn" ] || { echo -; return; }
  [ "$rn" = "$(val "$1" outer_netns)" ] && { echo host; return; }
  ifs=$(val "$1" run_ifaces)
  case " $ifs" in *" tap0="*) echo slirp4netns; return ;; esac
  ip=$(printf '%s\n' $ifs | grep -v '^lo=' | head -1 | sed 's/.*=//; s|/.*||')
  [ -n "$ip" ] || { echo none; return; }
  case " $(val "$1" outer_ips) " in *" $ip "*) echo pasta ;; *) echo bridge ;; esac
}
idempotence() { # scenario dir -> why-text when the second env run changed something
  local f=$1/step3/env2.json c
  [ -s "$f" ] || { echo "second env run gave no report (rc=$(val "$1/step3-env.log" env2_rc))"; return; }
  c=$(jq -r '[.changes[]? | "\(.action) \(.path)"] | join(", ")' "$f" 2>/dev/null) || c='?'
  [ -z "$c" ] || echo "NOT IDEMPOTENT: the second env run changed: $c"
}

run_scenario() {
  local n=$1 d=$OUT_ROOT/$1 o1 o3=na o4=na o5=- rb=na ra=na env_ra=na crc='' verdict=OK why=() t0 idem=-
  t0=$(date +%s)
  rm -rf "$d"; mkdir -p "$d"
  {
    echo "name=$n"; echo "image=$(image_for "$n")"; echo "engine=${SC_ENGINE[$n]}"; echo "kernel=$KERNEL"
    echo "desc=${SC_DESC[$n]}"
    expand_opts "$n"; echo "opts=${OPTS[*]}"
  } >"$d/scenario.txt"
  if [[ " ${NOLANE[*]} " == *" $n "* ]]; then
    { echo "engine=${SC_ENGINE[$n]}"; echo "kernel=$KERNEL"; echo "verdict=NOLANE"
      echo "why=the ${SC_ENGINE[$n]} lane cannot run on this host (see the log above)"; } >"$d/result"
    mlog "$(printf '%-44s NOLANE: the %s lane cannot run' "$n" "${SC_ENGINE[$n]}")"
    return 0
  fi
  outer "$n" 1 build "$d/step1-build.log"
  o1=$(outcome "$d/step1-build.log")
  if [ $HAVE_DOCTOR = 1 ]; then
    outer "$n" 2 check "$d/step2-check.log" "$d/step2"
    crc=$(val "$d/step2-check.log" check_rc)
    if [ -s "$d/step2/check.json" ] && jq -e . "$d/step2/check.json" >/dev/null 2>&1; then
      cp "$d/step2/check.json" "$d/check.json"
      rb=$(jbool "$d/check.json" .verdict.ready_before)
      ra=$(jbool "$d/check.json" .verdict.ready_after)
    else
      rb='?'; ra='?'; why+=("check produced no JSON report (rc=${crc:-none})")
    fi
    # purity hook (issue 10): check and --dry-run must change no file.
    local p pv
    for p in check dry_run; do
      pv=$(val "$d/step2-check.log" "purity_$p")
      [ "$pv" = pure ] || why+=("IMPURE: $p left the file system ${pv:-unlisted} (see step2-check.log)")
    done
    outer "$n" 3 env "$d/step3-env.log" "$d/step3"
    o3=$(outcome "$d/step3-env.log")
    [ -s "$d/step3/env.json" ] && cp "$d/step3/env.json" "$d/env.json"
    [ -s "$d/env.json" ] && env_ra=$(jbool "$d/env.json" .verdict.ready_after)
    [ "$o3" = na ] && why+=("env unavailable (rc=$(val "$d/step3-env.log" env_rc))")
    if [ "$o3" != na ]; then
      [ -s "$d/step3/env2.json" ] && cp "$d/step3/env2.json" "$d/env2.json"
      idem=$(idempotence "$d"); [ -z "$idem" ] && idem=yes || { why+=("$idem"); idem=no; }
    fi
    outer "$n" 4 exec "$d/step4-exec.log" "$d/step4"
    o4=$(outcome "$d/step4-exec.log")
    [ -s "$d/step4/exec.json" ] && cp "$d/step4/exec.json" "$d/exec.json"
  fi
  if [ "${SC_ENTRY[$n]}" = honour ] && [ $HAVE_DOCTOR = 1 ]; then
    outer "$n" entry build "$d/step5-entry.log"
    o5=$(outcome "$d/step5-entry.log")
  fi
  [ $HAVE_DOCTOR = 1 ] || why+=("doctor not available")
  # Verdict.
  local b1=false b3=false
  [ "$o1" = built ] && b1=true
  [ "$o3" = built ] && b3=true
  case $o1 in error|timeout) why+=("step 1 $o1 (outer container, see step1-build.log)") ;; esac
  if [ $HAVE_DOCTOR = 1 ]; then
    if [ "$rb" = true ] && [ $b1 = false ]; then why+=("FALSE READY: ready_before=true but build $o1")
    elif [ "$rb" != '?' ] && [ "$rb" != $b1 ]; then why+=("ready_before=$rb but build $o1"); fi
    if [ "$o3" != na ]; then
      if [ "$ra" = true ] && [ $b3 = false ]; then why+=("FALSE READY: ready_after=true but build after env $o3")
      elif [ "$ra" != '?' ] && [ "$ra" != $b3 ]; then why+=("ready_after=$ra but build after env $o3"); fi
    fi
    if [ $b3 = true ] && [ "$o4" != built ]; then why+=("exec $o4 where env built"); fi
    if [ "$o5" != - ]; then
      if [ "$ra" = true ] && [ "$o5" != built ]; then why+=("FALSE READY: ready_after=true but build through the entrypoint $o5")
      elif [ "$ra" = false ] && [ "$o5" = built ]; then why+=("ready_after=false but the build through the entrypoint built"); fi
    fi
  fi
  if [ ${#why[@]} -gt 0 ]; then
    verdict=WRONG
    [ $HAVE_DOCTOR = 0 ] && [ ${#why[@]} -eq 1 ] && verdict=NODOCTOR
    printf '%s\n' "${why[@]}" | grep -q 'NOT IDEMPOTENT\|second env run gave' && verdict=NOT-IDEMPOTENT
    printf '%s\n' "${why[@]}" | grep -v 'NOT IDEMPOTENT\|second env run gave' | grep -q . && verdict=WRONG
    [ $HAVE_DOCTOR = 0 ] && [ ${#why[@]} -eq 1 ] && verdict=NODOCTOR
    printf '%s\n' "${why[@]}" | grep -q 'FALSE READY' && verdict=FALSE-READY
    printf '%s\n' "${why[@]}" | grep -q 'unavailable\|no JSON' && [ "$verdict" = WRONG ] && verdict=NA
    printf '%s\n' "${why[@]}" | grep -q '^IMPURE' && [ "$verdict" = WRONG ] && verdict=IMPURE
  fi
  {
    echo "found=$o1"; echo "ready_before=$rb"; echo "ready_after=$ra"; echo "after_env=$o3"; echo "exec=$o4"; echo "entry=$o5"
    echo "env_ready_after=$env_ra"   # env's own report (info only; the verdict uses check's)
    echo "engine=${SC_ENGINE[$n]}"; echo "kernel=$KERNEL"; echo "idempotent=$idem"
    echo "net_found=$(net_used "$d/step1-build.log")"; echo "backend=$(val "$d/step1-build.log" backend)"
    echo "net_after=$( [ "$o3" = na ] && echo - || net_used "$d/step3-env.log")"
    echo "check_rc=$crc"; echo "verdict=$verdict"; echo "secs=$(( $(date +%s) - t0 ))"
    echo "step1_secs=$(val "$d/step1-build.log" outer_secs)"
    echo "why=$( [ ${#why[@]} -gt 0 ] && printf '%s | ' "${why[@]}" | sed 's/ | $//')"
    if [ "$o1" = built ]; then echo "error="; else echo "error=$(key_error "$d/step1-build.log")"; fi
    case $o5 in -|built) ;; *) echo "entry_error=$(key_error "$d/step5-entry.log")" ;; esac
  } >"$d/result"
  mlog "$(printf '%-44s found=%-7s before=%-5s after=%-5s env=%-7s exec=%-7s entry=%-7s %s (%ss)' \
    "$n" "$o1" "$rb" "$ra" "$o3" "$o4" "$o5" "$verdict" "$(( $(date +%s) - t0 ))")"
}

mlog "running ${#SEL[@]} scenarios, parallelism $JOBS, results in $OUT_ROOT"
T_RUN=$(date +%s)
# Wait for the scenario jobs only: a bare `wait` would also wait for the engines' daemons.
SCPIDS=()
alive() { local p c=0; for p in "${SCPIDS[@]}"; do kill -0 "$p" 2>/dev/null && c=$((c + 1)); done; echo $c; }
for n in "${SEL[@]}"; do
  while [ "$(alive)" -ge "$JOBS" ]; do sleep 0.3; done
  run_scenario "$n" &
  SCPIDS+=($!)
done
for p in "${SCPIDS[@]}"; do wait "$p" || true; done
T_END=$(date +%s)

# The VM lane's rows (--vm DIR): vm:ENGINE/SCENARIO, read from DIR/ENGINE/SCENARIO/result (same format,
# with engine= and kernel=).  No row at all means the lane could not run: one NOLANE row, never a skip.
ROWS=("${SEL[@]}")
if [ -n "$VM_OUT" ]; then
  vmrows=0
  for f in "$VM_OUT"/*/*/result; do
    [ -f "$f" ] || continue
    f=${f%/result}; ROWS+=("vm:${f#"$VM_OUT"/}"); vmrows=$((vmrows + 1))
  done
  if [ $vmrows = 0 ]; then
    mkdir -p "$OUT_ROOT/vm-lane"
    printf 'verdict=NOLANE\nengine=vm\nkernel=-\nwhy=LANE CANNOT RUN: no VM rows under %s (see tests/matrix/vm/run.sh output)\n' "$VM_OUT" >"$OUT_ROOT/vm-lane/result"
    ROWS+=(vm-lane)
  fi
fi
rfile() { case $1 in vm:*) echo "$VM_OUT/${1#vm:}/result" ;; *) echo "$OUT_ROOT/$1/result" ;; esac; }
reng() { local e; e=$(r "$1" engine); echo "${e:-${SC_ENGINE[$1]:-?}}"; }
rname() { case $1 in vm:*) echo "vm:${1##*/}" ;; *) echo "$1" ;; esac; }   # the table's name column
# results.json key of a VM row: SCENARIO@ENGINE@KERNEL
rkey() { case $1 in vm:*) echo "${1##*/}@$(r "$1" engine)@$(r "$1" kernel)" ;; *) echo "$1" ;; esac; }

# Table and totals.
r() { grep -a "^$2=" "$(rfile "$1")" 2>/dev/null | head -1 | cut -d= -f2- || true; }
pass=0; fail=0; bad=0
{
  printf '%-44s %-6s %-14s %-8s %-12s %-11s %-10s %-8s %-8s %s\n' scenario engine kernel found ready_before ready_after after_fix exec entry verdict
  for n in "${ROWS[@]}"; do
    v=$(r "$n" verdict); [ -n "$v" ] || v=ERROR
    printf '%-44s %-6s %-14s %-8s %-12s %-11s %-10s %-8s %-8s %s\n' "$(rname "$n")" "$(reng "$n")" "$(r "$n" kernel)" "$(r "$n" found)" "$(r "$n" ready_before)" \
      "$(r "$n" ready_after)" "$(r "$n" after_env)" "$(r "$n" exec)" "$(r "$n" entry)" "$v"
    if [ "$v" = OK ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    case $v in WRONG|FALSE-READY) bad=$((bad + 1)) ;; esac
  done
  echo
  for n in "${ROWS[@]}"; do
    w=$(r "$n" why); [ -n "$w" ] && [ "$(r "$n" verdict)" != OK ] && printf '  %s [%s]: %s\n' "$(rname "$n")" "$(r "$n" engine)" "$w"
  done
  echo
  echo "step-1 errors:"
  for n in "${ROWS[@]}"; do [ "$(r "$n" found)" = built ] || printf '  %s [%s]: %s\n' "$(rname "$n")" "$(r "$n" engine)" "$(r "$n" error)"; done
  echo
  echo "networks (RUN step as found / after the fixes; backend from podman info):"
  for n in "${ROWS[@]}"; do printf '  %-44s %-12s %-12s %s\n' "$(rname "$n")" "$(r "$n" net_found)" "$(r "$n" net_after)" "$(r "$n" backend)"; done
  echo
  echo "timings: setup $((T_RUN - T_START))s, scenarios $((T_END - T_RUN))s, total $((T_END - T_START))s (parallelism $JOBS)"
  for e in podman "${ENGINES[@]}"; do
    t=0; c=0
    for n in "${SEL[@]}"; do [ "${SC_ENGINE[$n]}" = "$e" ] || continue; t=$((t + $(r "$n" secs || echo 0) + 0)); c=$((c + 1)); done
    [ $c = 0 ] || echo "  lane $e: $c scenarios, ${t}s of scenario time (sum over the parallel jobs)"
  done
  [ -z "$VM_OUT" ] || grep -s '^vm timings:' "$VM_OUT/summary.txt" | sed 's/^/  lane /' || true
  false_ready=0
  for n in "${ROWS[@]}"; do [ "$(r "$n" verdict)" = FALSE-READY ] && false_ready=$((false_ready + 1)); done
  echo "wrong verdicts: $bad (false ready: $false_ready)"
  echo "$pass passed, $fail failed"
} | tee "$OUT_ROOT/summary.txt"
# Machine-readable results.
for n in "${ROWS[@]}"; do
  jq -Rn --arg name "$(rkey "$n")" '[inputs | select(test("^[^=]+=")) | index("=") as $i | {key: .[:$i], value: .[$i + 1:]}] | from_entries | .name = $name' \
    <"$(rfile "$n")" 2>/dev/null || true
done | jq -s . >"$OUT_ROOT/results.json"

# The counts above were made in the pipeline's subshell: count again here.
failed=0
for n in "${ROWS[@]}"; do [ "$(r "$n" verdict)" = OK ] || failed=$((failed + 1)); done
[ "$failed" = 0 ] || exit 1
exit 0
