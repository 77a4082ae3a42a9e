#!/usr/bin/env bash
# Capture a fixture tree for one matrix scenario: run `podrun-doctor capture DIR` in a fresh outer
# container of that scenario and copy DIR to tests/fixtures/<scenario>/ (replacing what is there).
#
# Usage: tests/matrix/capture.sh SCENARIO [SCENARIO...]   (shell globs allowed; --list to list)
#        tests/matrix/capture.sh --all
# Env:   PODRUN_DOCTOR_BIN, PODRUN_MATRIX_CACHE as for run.sh; PODRUN_FIXTURES_DIR (default tests/fixtures)
# Needs a doctor build with the `capture` subcommand (writes a fixture tree of everything it read).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FIXTURES=${PODRUN_FIXTURES_DIR:-$REPO_DIR/tests/fixtures}

[ $# -gt 0 ] || { sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 2; }
if [ "$1" = --list ]; then printf '%s\n' "${SC_NAMES[@]}"; exit 0; fi
SEL=()
for n in "${SC_NAMES[@]}"; do
  for p in "$@"; do
    # shellcheck disable=SC2053
    if [ "$p" = --all ] || [[ $n == $p ]]; then SEL+=("$n"); break; fi
  done
done
[ ${#SEL[@]} -gt 0 ] || { echo "capture.sh: no scenario matches $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "capture.sh must run as root" >&2; exit 2; }
[ -x "$DOCTOR_BIN" ] || { echo "capture.sh: doctor binary not found at $DOCTOR_BIN (set PODRUN_DOCTOR_BIN)" >&2; exit 2; }

ensure_tools
imgs=(); for n in "${SEL[@]}"; do [[ " ${imgs[*]} " == *" ${SC_IMAGE[$n]} "* ]] || imgs+=("${SC_IMAGE[$n]}"); done
"$MATRIX_DIR/images.sh" "${imgs[@]}"
outer_limits "localhost/podrun-job:${imgs[0]}"
setup_devices
for n in "${SEL[@]}"; do ensure_variant "${SC_IMAGE[$n]}" "${SC_VARIANT[$n]}"; done
RUNID=$$
WORK=$(mktemp -d /tmp/podrun-capture.XXXXXX); chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
CTX=$WORK/ctx
make_context "$CTX"   # same mounts as the matrix, so the capture sees what check sees

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
  chown -R --reference="$REPO_DIR" "$FIXTURES/$n" 2>/dev/null || true
  {
    echo "scenario: $n"; echo "image: $(image_for "$n")"; expand_opts "$n"; echo "outer podman run options: ${OPTS[*]}"
    echo "stands for: ${SC_DESC[$n]}"
    [ -f "$OUT_ROOT/$n/result" ] && grep -E '^(found|error)=' "$OUT_ROOT/$n/result" | sed 's/^found=/observed podman build: /; s/^error=/key error: /'
  } >"$FIXTURES/$n.scenario.txt"
  mlog "$n: fixture -> $FIXTURES/$n ($(find "$FIXTURES/$n" -type f | wc -l) files)"
done
exit $rc
