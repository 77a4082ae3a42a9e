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
cargo test --locked 2>&1 | tee target/cargo-test.log
grep -E '^test result: ' target/cargo-test.log | awk '{p+=$4; f+=$6} END {printf "cargo tests: %d passed, %d failed\n", p, f}'

step "static musl builds and size budget"
tests/budget.sh

step "pipelines: .gitlab-ci.yml, docs/examples, templates (gitlab-ci-local)"
tests/pipelines.sh

step "fuzzing: every parser and whole fixture trees, ~60 s (fails on a crash, hang or OOM)"
tests/fuzz.sh

step "benchmark (prints figures; fails only when it cannot run)"
tests/bench.sh

if [[ $(id -u) -eq 0 && "${PODRUN_SKIP_MATRIX:-}" != 1 ]]; then
  step "scenario matrix"
  tests/matrix/run.sh
  step "matrix reports against docs/report.schema.json"
  shopt -s nullglob
  reports=(target/matrix/*/step*/check.json target/matrix/*/step*/env.json target/matrix/*/step*/exec.json)
  ((${#reports[@]})) || { echo "no matrix reports under target/matrix"; exit 1; }
  python3 tests/schema/validate.py "${reports[@]}"
  step "scenario matrix, VM lane (Debian's kernel, cgroup v2, AppArmor)"
  tests/matrix/vm/run.sh
else
  echo "scenario matrix skipped (needs root; PODRUN_SKIP_MATRIX=${PODRUN_SKIP_MATRIX:-})"
fi
step "done"
