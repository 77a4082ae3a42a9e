#!/bin/bash
# Runs INSIDE the VM lane's guest (from guest-init.sh): the host matrix's own tests/matrix/run.sh, copied
# unchanged onto the io disk (/vmio/in/matrix), once per outer engine.  Results: /vmio/out/<engine>/.
#   podman  run.sh as on the host (its outer `podman run` is the guest's podman 4.3)
#   docker  the same run.sh with shim/podman first in PATH: the outer container commands (run, rm, ps)
#           go to the guest's dockerd; image questions (image inspect) stay with podman, which holds
#           the same images (both were loaded from one `podman save` archive).
# Scenarios: /vmio/in/scenarios (run.sh --only globs, one per line).
set -u
exec > >(tee /dev/ttyS0) 2>&1   # the log file (guest-init) and, live, the host's console.log
IN=/vmio/in
only=(); while read -r s; do [ -n "$s" ] && only+=(--only "$s"); done <"$IN/scenarios"
rc=0
for engine in $(cat "$IN/engines"); do
  echo "=== engine $engine: tests/matrix/run.sh ${only[*]}"
  path=$PATH; [ "$engine" = docker ] && path=$IN/vm/shim:$PATH
  PATH=$path PODRUN_MATRIX_OUT=/vmio/out/$engine PODRUN_DOCTOR_BIN=$IN/podrun-doctor \
    PODRUN_MATRIX_CACHE=/var/cache/podrun-doctor-matrix bash "$IN/matrix/run.sh" "${only[@]}" -j "${VM_JOBS:-2}"
  r=$?
  echo "=== engine $engine: run.sh exit $r"
  echo "$r" >"/vmio/out/$engine.rc"
  [ $r = 0 ] || rc=1
done
exit $rc
