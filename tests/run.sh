#!/usr/bin/env bash
# The whole test suite, cheap first: format, lints, unit and fixture tests,
# the static musl builds with their size budget, then the scenario matrix
# (real podman in nested job containers; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n=== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step setup
tests/setup.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "cargo test"
# --show-output keeps what passing tests print, for the race figures below.
cargo test --locked -- --show-output >target/cargo-test.log 2>&1 || {
  grep -vE '^(test .* \.\.\. ok|)$' target/cargo-test.log | tail -n 200
  exit 1
}
grep -E '^test result: ' target/cargo-test.log | awk '{p+=$4; f+=$6} END {printf "cargo tests: %d passed, %d failed\n", p, f}'
# PODRUN_LIVE=skip lets live tests that lack something pass: each says so, and so does this summary.
grep -oE 'live: [a-z0-9_]+ skipped by PODRUN_LIVE=.*' target/cargo-test.log || true
grep -E '^races: ' target/cargo-test.log || { echo "tests/races.rs printed no figures"; exit 1; }

step "static musl builds and size budget"
tests/budget.sh

step "pipelines: .gitlab-ci.yml, docs/examples, templates (gitlab-ci-local)"
tests/pipelines.sh

step "fuzzing: every parser and whole fixture trees, ~60 s (fails on a crash, hang or OOM)"
tests/fuzz.sh

step "benchmark (prints figures; fails only when it cannot run)"
tests/bench.sh

if [[ $(id -u) -eq 0 ]]; then
  step "injected faults (issue 9: stalls, hostile files, full or read-only HOME)"
  tests/faults.sh target/x86_64-unknown-linux-musl/release/podrun-doctor
else
  echo "injected faults cannot run: they need root (mount namespaces); run tests/run.sh as root"
  exit 1
fi

if [[ $(id -u) -eq 0 && "${PODRUN_SKIP_MATRIX:-}" != 1 ]]; then
  # The VM lane runs first; its rows then join the host matrix's table and its one closing
  # `N passed, N failed` (run.sh --vm). A lane that cannot run leaves no rows: a NOLANE row there.
  step "scenario matrix, VM lane (Debian's kernel, cgroup v2, AppArmor)"
  vm_rc=0
  tests/matrix/vm/run.sh || vm_rc=$?
  step "scenario matrix (all lanes, the VM lane's rows included)"
  matrix_rc=0
  tests/matrix/run.sh --vm target/matrix-vm || matrix_rc=$?
  step "matrix reports against docs/report.schema.json"
  shopt -s nullglob
  reports=(target/matrix/*/step*/check.json target/matrix/*/step*/env.json target/matrix/*/step*/exec.json
    target/matrix-vm/*/*/step*/check.json target/matrix-vm/*/*/step*/env.json target/matrix-vm/*/*/step*/exec.json)
  ((${#reports[@]})) || { echo "no matrix reports under target/matrix"; exit 1; }
  python3 tests/schema/validate.py "${reports[@]}"
  # The VM lane's own failures beyond its rows (a fixture it could not capture) fail too.
  [[ $vm_rc = 0 && $matrix_rc = 0 ]] || { echo "matrix failed (VM lane exit $vm_rc, run.sh exit $matrix_rc)"; exit 1; }
elif [[ "${PODRUN_SKIP_MATRIX:-}" == 1 ]]; then
  echo "scenario matrix not run: PODRUN_SKIP_MATRIX=1 asked for everything but the matrix"
else
  echo "scenario matrix cannot run: it needs root; run tests/run.sh as root"
  exit 1
fi
step "done"
