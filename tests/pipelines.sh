#!/usr/bin/env bash
# The project's .gitlab-ci.yml, every docs/examples/*/gitlab-ci.yml and the template (through
# tests/pipelines/template-user.gitlab-ci.yml) are validated with gitlab-ci-local (GitLab's CI
# JSON schema, includes and extends expanded), and one job of each runs with its shell
# executor: the real doctor binary against a captured environment (a wrapper adds --root) and
# a stand-in `podman` that prints what it was asked, so no nested podman is needed here.
# Beyond the happy path, on one example: a NOT READY environment stops the job at the doctor's
# line, and a failed build stays red and names the checks that explain it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
GCL_VERSION=4.64.0
gcl=${PODRUN_GCL:-/var/cache/podrun-doctor-tools/gitlab-ci-local-$GCL_VERSION/node_modules/.bin/gitlab-ci-local}
[[ -x $gcl ]] || { echo "pipelines: gitlab-ci-local $GCL_VERSION missing at $gcl: run tests/setup.sh as root" >&2; exit 1; }
doctor=${PODRUN_DOCTOR_BIN:-$repo/target/x86_64-unknown-linux-musl/release/podrun-doctor}
[[ -x $doctor ]] || doctor=$repo/target/debug/podrun-doctor
[[ -x $doctor ]] || { echo "pipelines: no podrun-doctor binary (cargo build first)" >&2; exit 1; }
work=$(mktemp -d)
trap '[[ $fail = 0 ]] && rm -rf "$work" || echo "pipelines: logs kept in $work"' EXIT
fail=0

# A job's world: a git checkout with the pipeline, and bin/ with the doctor and podman stand-ins.
# $1 name, $2 pipeline file, $3 captured environment, $4 podman build outcome (ok|fail)
setup() {
  local dir=$work/$1
  mkdir -p "$dir/bin" "$dir/target/x86_64-unknown-linux-musl/release"
  cp "$2" "$dir/.gitlab-ci.yml"
  cp -r "$repo/templates" "$repo/image" "$dir/"
  # env writes its fixes into the tree it examines: give it a copy.
  cp -a "$repo/tests/fixtures/envs/$3" "$dir/.env-fixture"
  cat >"$dir/bin/podrun-doctor" <<SH
#!/bin/sh
exec "$doctor" --root "$dir/.env-fixture" "\$@"
SH
  cp "$dir/bin/podrun-doctor" "$dir/target/x86_64-unknown-linux-musl/release/podrun-doctor"
  cat >"$dir/bin/podman" <<SH
#!/bin/sh
echo "stand-in podman: \$*"
case "\$1:$4" in
  build:fail) echo 'Error: mount \`proc\` to \`proc\`: Operation not permitted'; exit 125 ;;
esac
exit 0
SH
  chmod +x "$dir/bin/podrun-doctor" "$dir/target/x86_64-unknown-linux-musl/release/podrun-doctor" "$dir/bin/podman"
  printf '.env-fixture/\nbin/\ntarget/\n' >"$dir/.gitignore"
  (cd "$dir" && git init -q . && git remote add origin https://gitlab.example.com/group/project.git &&
    git add -A && git -c user.email=ci@example.com -c user.name=ci commit -qm pipeline)
}

# $1 name, $2 job; runs it, leaves its log in $work/$1.log, returns its status.
run_job() {
  (cd "$work/$1" && PATH=$work/$1/bin:$PATH timeout 300 "$gcl" --force-shell-executor \
    --json-schema-validation --no-color --variable CI_DEFAULT_BRANCH=main "$2") >"$work/$1.log" 2>&1
}

check() { # $1 description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; fail=1; fi
}

pipelines=(".gitlab-ci.yml:job-image" "tests/pipelines/template-user.gitlab-ci.yml:build-image")
for ex in docs/examples/*/gitlab-ci.yml; do pipelines+=("$ex:build-image"); done
for entry in "${pipelines[@]}"; do
  file=${entry%%:*} job=${entry##*:}
  name=$(echo "$file" | tr '/.' '__')
  setup "$name" "$file" deb13-rootless-priv ok
  echo "$file"
  check "valid (gitlab-ci-local --preview, GitLab's schema)" \
    bash -c "cd '$work/$name' && '$gcl' --preview --json-schema-validation --no-color >'$work/$name.preview' 2>&1"
  check "job $job passes with its shell executor" run_job "$name" "$job"
  check "the doctor ran and podman built after it" \
    grep -q 'stand-in podman: build' "$work/$name.log"
  check "its JSON report is valid" python3 tests/schema/validate.py "$work/$name/podrun-doctor.json"
  check "its JUnit report is valid" \
    xmllint --noout --schema tests/schema/junit-gitlab.xsd "$work/$name/podrun-doctor.xml"
  grep -q "PASS  $job" "$work/$name.log" || sed 's/^/    | /' "$work/$name.log" | tail -40
done

echo "docs/examples/docker-privileged: NOT READY and a failed build"
fails() { ! "$@"; }
absent() { [[ -s $2 ]] && ! grep -q "$1" "$2"; }
setup not-ready docs/examples/docker-privileged/gitlab-ci.yml deb13-openshift-restricted ok
check "a NOT READY environment fails the job" fails run_job not-ready build-image
check "it stops at the doctor's line" grep -q 'stopping the job here' "$work/not-ready.log"
check "podman never ran" absent 'stand-in podman' "$work/not-ready.log"
setup build-fails docs/examples/docker-privileged/gitlab-ci.yml deb13-rootless-priv fail
check "a failed build fails the job" fails run_job build-fails build-image
check "the log names the check behind it" grep -q '^.*mounts.proc: ' "$work/build-fails.log"
check "and nothing was pushed" absent 'stand-in podman: push' "$work/build-fails.log"
exit "$fail"
