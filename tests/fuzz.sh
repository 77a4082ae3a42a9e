#!/usr/bin/env bash
# Fuzzes every target of fuzz/ (cargo-fuzz, libFuzzer, nightly) for a
# bounded time, about a minute in all, and FAILS on a crash, a hang
# (-timeout), an out-of-memory (-rss_limit_mb) or a toolchain that cannot be
# had: never a silent skip. Prints, per target: executions, corpus size and
# time. Corpora grow in fuzz/corpus/TARGET (gitignored; seeded by
# fuzz/seed.sh); findings land in fuzz/artifacts/TARGET/.
#
#   PODRUN_FUZZ_SECONDS=600 tests/fuzz.sh        # longer (split the same way)
#   tests/fuzz.sh toml tree                      # some targets only
#   PODRUN_FUZZ_SEED=0 tests/fuzz.sh             # a random seed (exploring)
#
# CI fuzzes from a fixed seed (PODRUN_FUZZ_SEED, default 1), so a red run
# can be replayed with the same mutations and a pipeline is not turned red
# by a finding that its change did not cause; longer runs with seed 0
# explore, and each finding is fixed and its input kept in fuzz/seeds/.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${PODRUN_FUZZ_SECONDS:-60}
seed=${PODRUN_FUZZ_SEED:-1}
tools=${PODRUN_TOOLS:-/var/cache/podrun-doctor-tools}/cargo-fuzz/bin
parsers=(subid passwd mountinfo status limits cgroup idmap toml version dpkg apk gobuild)
targets=("${parsers[@]}" tree)
(($#)) && targets=("$@")

fail() {
  echo "fuzz: FAILED: $*" >&2
  exit 1
}
rustup run nightly rustc --version >/dev/null 2>&1 ||
  fail "no nightly toolchain (cargo-fuzz needs it): run tests/setup.sh, or rustup toolchain install nightly --profile minimal"
export PATH="$tools:$PATH"
command -v cargo-fuzz >/dev/null ||
  fail "cargo-fuzz is not installed in $tools: run tests/setup.sh (cargo install cargo-fuzz --locked --root ${tools%/bin})"

fuzz/seed.sh fuzz/corpus
# One build for every target; debug assertions on, so an overflow is a crash.
cargo +nightly fuzz build --debug-assertions 2>&1 | tail -n 3 ||
  fail "cargo fuzz build failed"

# The whole-tree target is ~100x slower per run than a parser: it gets a
# quarter of the time, the parsers share the rest.
tree_share=$((total / 4))
parser_time=$(((total - tree_share) / ${#parsers[@]}))
((parser_time >= 1)) || parser_time=1

logs=target/fuzz
mkdir -p "$logs"
failed=()
echo "libFuzzer seed $seed (PODRUN_FUZZ_SEED; 0 = random)"
printf '%-10s %10s %8s %8s %8s  %s\n' target execs corpus "rss MB" seconds result
for t in "${targets[@]}"; do
  [[ $t == tree ]] && secs=$tree_share || secs=$parser_time
  max_len=65536
  [[ $t == tree ]] && max_len=262144
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  start=$(date +%s.%N)
  status=ok
  cargo +nightly fuzz run --debug-assertions "$t" "fuzz/corpus/$t" -- \
    -seed="$seed" -max_total_time="$secs" -timeout=2 -rss_limit_mb=1024 -max_len="$max_len" \
    -print_final_stats=1 >"$logs/$t.log" 2>&1 || status=FAILED
  after=$(find "fuzz/artifacts/$t" -type f | wc -l)
  ((after > before)) && status=FAILED
  took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$logs/$t.log" | tail -n 1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%-10s %10s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "$corpus" "${rss:-?}" "$took" "$status"
  if [[ $status != ok ]]; then
    failed+=("$t")
    grep -E 'panicked|ERROR: libFuzzer|ALARM|out-of-memory|SUMMARY|Test unit written|artifact_prefix' \
      "$logs/$t.log" | head -n 20 >&2 || true
    echo "  log: $logs/$t.log; reproduce: cargo +nightly fuzz run $t fuzz/artifacts/$t/<file>" >&2
  fi
done
((${#failed[@]} == 0)) || fail "targets ${failed[*]} (crash, hang or out-of-memory: see above)"
echo "fuzz: ${#targets[@]} targets, no crash, hang or out-of-memory"
