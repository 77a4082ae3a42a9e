#!/usr/bin/env bash
# Verify a fix by hand: one fresh outer container of a scenario (same image, options, engine and
# mounts as the matrix), a shell snippet sourced first, then the matrix's podman build.
#   tests/matrix/try.sh NAME 'SNIPPET'      e.g.  try.sh deb13nr-root-priv 'export CONTAINERS_CONF_OVERRIDE=…'
# Prints the build log; exit status is the build's (0 built).  Takes the matrix lock.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=${1:?usage: try.sh NAME SNIPPET}; SNIP=${2:?usage: try.sh NAME SNIPPET}
[ -n "${SC_IMAGE[$NAME]:-}" ] || { echo "try.sh: no scenario $NAME" >&2; exit 2; }
matrix_lock
ensure_tools
"$MATRIX_DIR/images.sh" "${SC_IMAGE[$NAME]}" >&2
outer_limits "localhost/podrun-job:${SC_IMAGE[$NAME]}"
setup_devices; setup_seccomp
ensure_variant "${SC_IMAGE[$NAME]}" "${SC_VARIANT[$NAME]}"
RUNID=try$$
WORK=$(mktemp -d /tmp/podrun-try.XXXXXX); chmod 0755 "$WORK"
trap 'engines_stop; rm -rf "$WORK"' EXIT
if [ "${SC_ENGINE[$NAME]}" != podman ]; then
  engines_start "${SC_ENGINE[$NAME]}"; engine_load_image "${SC_ENGINE[$NAME]}" "$(image_for "$NAME")"
fi
CTXROOT=$WORK/ctx
make_context "$CTXROOT/std" std; make_context "$CTXROOT/nofile" nofile
mkdir -p "$WORK/out"; printf '%s\n' "$SNIP" >"$WORK/out/try.sh"; chmod 0644 "$WORK/out/try.sh"
outer "$NAME" try try "$WORK/try.log" "$WORK/out"
cat "$WORK/try.log"
[ "$(grep -a '^@@build_rc=' "$WORK/try.log" | tail -1 | cut -d= -f2)" = 0 ]
