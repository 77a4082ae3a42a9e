#!/usr/bin/env bash
# Times a whole `check` side by side with `podman info` and a static no-op
# (the floor: what starting any process costs here), in one hyperfine run,
# and prints the medians, the ratios and the peak RSS of the doctor's whole
# process tree. It prints; it does not fail on the figures (this machine is
# shared, timings move), only on a broken setup. Goals (issue 10): check
# median <= 5 ms, >= 50x faster than podman info, peak RSS <= 4 MiB.
# Wall time on this shared machine is mostly waiting for a CPU, so the CPU
# time of each command (hyperfine's user+system mean: the whole process
# tree) is printed too; PODRUN_BENCH_BEFORE=OLD_BINARY times an older build
# in the same run, side by side, for a before/after figure.
#   tests/bench.sh [BINARY]   (default: the static x86_64 release build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/x86_64-unknown-linux-musl/release/podrun-doctor}
runs=${PODRUN_BENCH_RUNS:-20}
out=${PODRUN_BENCH_JSON:-target/bench.json}
floor=$(command -v busybox || true)
[[ -x $bin ]] || { echo "bench: $bin not built (cargo build --release --target x86_64-unknown-linux-musl)" >&2; exit 1; }
[[ -n $floor ]] && file -b "$floor" | grep -q static || { echo "bench: need a static busybox (apt-get install busybox-static)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench: need hyperfine (tests/setup.sh installs it)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench: need GNU time (tests/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
# The report goes to a real file: the doctor refuses to replace /dev/null
# (a device), and a run that fails writing its report is not the run a job
# pays for.
report=$(dirname "$out")/bench-report.json

before=${PODRUN_BENCH_BEFORE:-}
extra=()
[[ -n $before ]] && extra=(-n before "$before check --json $report.before")
# -N: no shell between hyperfine and the command, so the floor is one exec.
hyperfine -N -i --style basic --warmup 3 --runs "$runs" --export-json "$out" \
  -n check "$bin check --json $report" \
  -n "podman info" "podman info" \
  -n floor "$floor true" "${extra[@]}" >/dev/null 2>&1 || true
jq -e --argjson n $((3 + ${#extra[@]} / 2)) '.results | length == $n' "$out" >/dev/null || { echo "bench: hyperfine gave no results ($out)" >&2; exit 1; }

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$out"; }
cpu() { jq -r --arg n "$1" '.results[] | select(.command == $n) | (.user + .system) * 1000' "$out"; }
check=$(median check) podman=$(median "podman info") noop=$(median floor)
check_cpu=$(cpu check) podman_cpu=$(cpu "podman info")
# GNU time's peak is ru_maxrss over the doctor and every child it reaped:
# the largest single process of the tree.
rss_kb=$({ /usr/bin/time -v "$bin" check --json "$report" 2>&1 >/dev/null || true; } | awk -F': ' '/Maximum resident/ {print $2}')
duration=$({ "$bin" check --json - 2>/dev/null || true; } | jq -r .duration_ms)
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v c="$check" -v p="$podman" -v f="$noop" -v r="$rss_kb" -v d="$duration" -v n="$runs" \
  -v cc="$check_cpu" -v pc="$podman_cpu" -v l="$load" 'BEGIN {
  printf "bench (median of %d runs, warmup 3, load average %s):\n", n, l
  printf "  podrun-doctor check --json FILE       %8.2f ms   (goal <= 5 ms)\n", c
  printf "  podman info                           %8.2f ms\n", p
  printf "  static no-op (busybox true)           %8.2f ms   (floor)\n", f
  printf "  podman info / check                   %8.1f x    (goal >= 50x)\n", p / c
  printf "  check / no-op                         %8.1f x\n", c / f
  printf "  check above the floor                 %8.2f ms\n", c - f
  printf "  peak RSS of check (process tree)      %8.2f MiB  (goal <= 4 MiB)\n", r / 1024
  printf "  duration_ms in the report             %8s ms\n", d
  printf "  CPU time (user+sys, mean): check %.2f ms, podman info %.2f ms (%.1f x)\n", cc, pc, pc / cc
}'
if [[ -n $before ]]; then
  awk -v b="$(median before)" -v bc="$(cpu before)" -v c="$check" -v cc="$check_cpu" 'BEGIN {
    printf "  before (%s): wall %.2f ms, CPU %.2f ms; now %.2f x faster (wall), %.2f x less CPU\n", "PODRUN_BENCH_BEFORE", b, bc, b / c, bc / cc
  }'
fi
