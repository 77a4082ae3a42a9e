#!/bin/bash
# Runs INSIDE an outer job container (bind-mounted read-only at /podrun-matrix/inner.sh).
#   inner.sh build          podman build as the job would run it, nothing done first
#   inner.sh check          podrun-doctor check --json -           (JSON -> /podrun-out/check.json)
#   inner.sh env            eval "$(podrun-doctor env --json /podrun-out/env.json)"; podman build
#   inner.sh exec           podrun-doctor exec -- podman build
#   inner.sh capture        podrun-doctor capture /podrun-out/capture (+ check --json /podrun-out/check.json)
#   inner.sh try            . /podrun-out/try.sh (a candidate fix, see try.sh); podman build
# Second argument: timeout in seconds for each inner podman build (default 300).
# Results are printed as "@@key=value" lines on stdout; everything else is log.
# Not `set -e`: every outcome must be reported.
set -u
MODE=${1:?mode}
CTX=/podrun-ctx
OUT=/podrun-out
DOCTOR=/usr/local/bin/podrun-doctor
# A NOT READY stops a real job at the doctor's line; here podman must still run
# after it, or the matrix could never catch a false "not ready".
export PODRUN_DOCTOR_NO_FAIL=1
# The doctor's 800 ms probing budget bounds a hung tool; in the VM lane's
# emulated (TCG) guest, tens of times slower than hardware, a healthy check
# would run out of it and call its checks unsure. Only there: 20 s.
case " $(cat /proc/cmdline 2>/dev/null) " in
  *" podrun.slow=1 "*) export PODRUN_DOCTOR_BUDGET_MS=20000 ;;
esac
TMO=${2:-300}
TAG=localhost/podrun-matrix-test:latest

now() { date +%s%N; }
secs() { local ms=$(( ($(now) - $1) / 1000000 )); printf '%d.%03d' $((ms/1000)) $((ms%1000)); }
build() {
  local t0 rc
  t0=$(now)
  timeout "$TMO" podman build -t "$TAG" "$CTX" 2>&1
  rc=$?
  echo "@@build_rc=$rc"
  echo "@@build_secs=$(secs "$t0")"
}
doctor_present() {
  if [ ! -x "$DOCTOR" ]; then echo "@@doctor=missing"; return 1; fi
  echo "@@doctor=present"
}

echo "== $(id) HOME=${HOME:-<unset>} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-<unset>} podman=$(podman --version 2>&1)"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr '\n' ' '; echo
# The job's own network namespace and addresses: run.sh compares them with what the RUN step printed
# (@@run_netns, @@run_ifaces) to name the network podman gave it (host, pasta, slirp4netns, bridge).
echo "@@outer_netns=$(readlink /proc/self/ns/net)"
echo "@@outer_ips=$(awk '/\|--/ {ip=$2} /\/32 host LOCAL/ {print ip}' /proc/net/fib_trie 2>/dev/null | sort -u | tr '\n' ' ')"
backend() { echo "@@backend=$(timeout 30 podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null | grep -x '[a-z]*' | head -1)"; }

case $MODE in
  build)
    build
    backend
    ;;
  check)
    doctor_present || exit 0
    # --- purity hook (issue 10, tests/matrix/purity.sh): check and a dry run
    # must leave nothing anywhere; run.sh fails the row (IMPURE) otherwise.
    . /podrun-matrix/purity.sh
    purity_snapshot "$OUT/purity.0"
    "$DOCTOR" check --json - >"$OUT/check.json" 2>"$OUT/check.stderr"
    echo "@@check_rc=$?"
    purity_snapshot "$OUT/purity.1"
    purity_compare check "$OUT/purity.0" "$OUT/purity.1"
    "$DOCTOR" --dry-run --json "$OUT/dry-run.json" >/dev/null 2>&1
    purity_snapshot "$OUT/purity.2"
    purity_compare dry_run "$OUT/purity.1" "$OUT/purity.2"
    # --- end of purity hook
    cat "$OUT/check.stderr"
    ;;
  env)
    doctor_present || exit 0
    exports=$("$DOCTOR" env --json "$OUT/env.json" 2>"$OUT/env.stderr")
    rc=$?
    echo "@@env_rc=$rc"
    printf '%s\n' "$exports" >"$OUT/env.sh"
    echo "-- env exports:"; cat "$OUT/env.sh"; echo "-- env stderr:"; cat "$OUT/env.stderr"
    if [ "$rc" -le 1 ]; then
      eval "$exports"
      build
      backend
      # Idempotence: a second env run in the fixed environment must change nothing (run.sh reads
      # env2.json's "changes").
      exports2=$("$DOCTOR" env --json "$OUT/env2.json" 2>"$OUT/env2.stderr")
      echo "@@env2_rc=$?"
      printf '%s\n' "$exports2" >"$OUT/env2.sh"
      if [ "$exports2" = "$exports" ]; then echo "@@env2_same_exports=yes"; else echo "@@env2_same_exports=no"; fi
    else
      echo "@@build_rc=na"
    fi
    ;;
  exec)
    doctor_present || exit 0
    t0=$(now)
    "$DOCTOR" exec --json "$OUT/exec.json" -- timeout "$TMO" podman build -t "$TAG" "$CTX" 2>&1
    rc=$?
    echo "@@build_rc=$rc"
    echo "@@build_secs=$(secs "$t0")"
    ;;
  try)
    # try.sh: a shell snippet (a candidate fix) sourced before the build, to verify a fix by hand.
    . "$OUT/try.sh"
    build
    ;;
  capture)
    doctor_present || exit 0
    "$DOCTOR" capture "$OUT/capture" 2>&1
    echo "@@capture_rc=$?"
    # The live report, to compare with the report from the fixture (capture.sh).
    "$DOCTOR" check --json "$OUT/check.json" >/dev/null 2>&1
    ;;
  *) echo "inner.sh: unknown mode $MODE" >&2; exit 2 ;;
esac
