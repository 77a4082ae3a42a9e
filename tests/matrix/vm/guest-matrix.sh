#!/bin/bash
# Runs INSIDE the VM lane's guest (from guest-init.sh): the host matrix's own tests/matrix/run.sh, copied
# unchanged onto the io disk (/vmio/in/matrix), once per outer engine.  Results: /vmio/out/<engine>/.
#   podman  run.sh as on the host (its outer `podman run` is the guest's podman 4.3)
#   docker  the same run.sh with shim/podman first in PATH: the outer container commands (run, rm, ps)
#           go to the guest's dockerd; image questions (image inspect) stay with podman, which holds
#           the same images (both were loaded from one `podman save` archive).
# Scenarios: /vmio/in/scenarios (run.sh --only globs, one per line).
set -u
# The plain init has devtmpfs only: no /dev/fd, which bash's process substitution (<(…), used by run.sh and
# capture.sh) needs.  systemd/udev make these links on a node.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do [ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
exec > >(tee /dev/ttyS0) 2>&1   # the log file (guest-init) and, live, the host's console.log
IN=/vmio/in
rc=0
for engine in $(cat "$IN/engines"); do
  only=()   # NAME for every engine, ENGINE:NAME for that one only
  while read -r s; do
    case $s in '') ;; *:*) [ "${s%%:*}" = "$engine" ] && only+=(--only "${s#*:}") ;; *) only+=(--only "$s") ;; esac
  done <"$IN/scenarios"
  echo "=== engine $engine: tests/matrix/run.sh ${only[*]}"
  path=$PATH; [ "$engine" = docker ] && path=$IN/vm/shim:$PATH
  PATH=$path PODRUN_MATRIX_OUT=/vmio/out/$engine PODRUN_DOCTOR_BIN=$IN/podrun-doctor \
    PODRUN_MATRIX_CACHE=/var/cache/podrun-doctor-matrix bash "$IN/matrix/run.sh" "${only[@]}" -j "${VM_JOBS:-2}"
  r=$?
  echo "=== engine $engine: run.sh exit $r"
  echo "$r" >"/vmio/out/$engine.rc"
  [ $r = 0 ] || rc=1
done
# Fixtures of rows just run (capture.sh reads their result from the same out dir): /vmio/out/fixtures/NAME.
while read -r c; do
  [ -n "$c" ] || continue
  engine=${c%%:*} name=${c#*:}
  echo "=== capture $name ($engine)"
  path=$PATH; [ "$engine" = docker ] && path=$IN/vm/shim:$PATH
  PATH=$path PODRUN_MATRIX_OUT=/vmio/out/$engine PODRUN_DOCTOR_BIN=$IN/podrun-doctor \
    PODRUN_MATRIX_CACHE=/var/cache/podrun-doctor-matrix PODRUN_FIXTURES_DIR=/vmio/out/fixtures \
    bash "$IN/matrix/capture.sh" "$name"
  r=$?
  echo "=== capture $name: exit $r"
  echo "$r" >"/vmio/out/capture-$name.rc"
  [ $r = 0 ] || rc=1
done <"$IN/capture"
exit $rc
