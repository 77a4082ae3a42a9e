#!/usr/bin/env bash
# Verify fixes by hand: one fresh outer container of a scenario (same image, options, engine and
# mounts as the matrix), a shell snippet sourced first, then the matrix's podman build.
#   tests/matrix/try.sh NAME 'SNIPPET'   e.g. try.sh deb13nr-root-priv 'unset CONTAINER_HOST'
#   tests/matrix/try.sh --batch FILE     lines "NAME|SNIPPET", all under one hold of the matrix lock
# Prints the build log (one: the log; batch: "NAME | built/failed | SNIPPET | last Error line", logs in
# $PODRUN_MATRIX_OUT/try/).  Exit status: 0 when every build built.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PAIRS=()
if [ "${1:-}" = --batch ]; then
  while IFS= read -r l; do [ -n "$l" ] && [ "${l:0:1}" != '#' ] && PAIRS+=("$l"); done <"${2:?--batch FILE}"
else
  PAIRS=("${1:?usage: try.sh NAME SNIPPET}|${2:?usage: try.sh NAME SNIPPET}")
fi
names=(); for p in "${PAIRS[@]}"; do n=${p%%|*}; [ -n "${SC_IMAGE[$n]:-}" ] || { echo "try.sh: no scenario $n" >&2; exit 2; }; names+=("$n"); done
matrix_lock
ensure_tools
imgs=(); for n in "${names[@]}"; do [[ " ${imgs[*]} " == *" ${SC_IMAGE[$n]} "* ]] || imgs+=("${SC_IMAGE[$n]}"); done
"$MATRIX_DIR/images.sh" "${imgs[@]}" >&2
outer_limits "localhost/podrun-job:${imgs[0]}"
setup_devices; setup_seccomp
for n in "${names[@]}"; do ensure_variant "${SC_IMAGE[$n]}" "${SC_VARIANT[$n]}"; done
RUNID=try$$
WORK=$(mktemp -d /tmp/podrun-try.XXXXXX); chmod 0755 "$WORK"
trap 'engines_stop; rm -rf "$WORK"' EXIT
mapfile -t ENGINES < <(engines_needed "${names[@]}")
if [ ${#ENGINES[@]} -gt 0 ]; then
  engines_start "${ENGINES[@]}"
  for n in "${names[@]}"; do [ "${SC_ENGINE[$n]}" = podman ] || engine_load_image "${SC_ENGINE[$n]}" "$(image_for "$n")"; done
fi
CTXROOT=$WORK/ctx
make_context "$CTXROOT/std" std; make_context "$CTXROOT/nofile" nofile
LOGS=$OUT_ROOT/try; mkdir -p "$LOGS"
rc=0; i=0
for p in "${PAIRS[@]}"; do
  n=${p%%|*}; snip=${p#*|}; i=$((i + 1))
  rm -rf "$WORK/out"; mkdir -p "$WORK/out"; printf '%s\n' "$snip" >"$WORK/out/try.sh"; chmod 0644 "$WORK/out/try.sh"
  outer "$n" "try$i" try "$LOGS/$n.$i.log" "$WORK/out"
  if [ "$(grep -a '^@@build_rc=' "$LOGS/$n.$i.log" | tail -1 | cut -d= -f2)" = 0 ]; then r=built; else r=failed; rc=1; fi
  if [ ${#PAIRS[@]} = 1 ]; then cat "$LOGS/$n.$i.log"
  else printf '%s | %s | %s | %s\n' "$n" "$r" "$snip" "$(key_error "$LOGS/$n.$i.log" | cut -c1-240)"; fi
done
exit $rc
