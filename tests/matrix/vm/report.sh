# shellcheck shell=bash
# The VM lane's table (sourced by vm/run.sh): the guest's run.sh wrote OUT/<engine>/<scenario>/result
# in the host matrix's key=value format; each gets engine=, kernel= and accel= and becomes one row of
# OUT/results.json and OUT/summary.txt.  A row the guest did not produce is an ERROR row, never skipped.
# report OUT KERNEL ACCEL -> sets PASS, FAIL
report() {
  local out=$1 kernel=${2:-unknown} accel=$3 e n f v rows=() missing=()
  PASS=0; FAIL=0
  for e in $ENGINES; do
    local got=0
    for f in "$out/$e"/*/result; do
      [ -f "$f" ] || continue
      n=$(basename "$(dirname "$f")"); got=1
      grep -q '^engine=' "$f" || echo "engine=$e" >>"$f"
      grep -q '^kernel=' "$f" || echo "kernel=$kernel" >>"$f"
      grep -q '^accel=' "$f" || echo "accel=$accel" >>"$f"
      rows+=("$e/$n")
    done
    for n in $SCENARIOS; do   # exact names must all be there (globs cannot be checked)
      case $n in *:*) [ "${n%%:*}" = "$e" ] || continue; n=${n#*:} ;; esac
      case $n in *[*?[]*) continue ;; esac
      [ -f "$out/$e/$n/result" ] || missing+=("$e/$n")
    done
    [ $got = 1 ] || missing+=("$e/no-rows")   # the engine gave none: see console.log
  done
  # A missing row gets a result of its own (verdict ERROR), so results.json and a merged table count it.
  for f in "${missing[@]}"; do
    mkdir -p "$out/$f"
    printf 'verdict=ERROR\nwhy=row missing: the guest produced no result (see %s/console.log)\nengine=%s\nkernel=%s\naccel=%s\n' \
      "$out" "${f%%/*}" "$kernel" "$accel" >"$out/$f/result"
  done
  rv() { grep -a "^$2=" "$out/$1/result" 2>/dev/null | head -1 | cut -d= -f2- || true; }
  {
    printf '%-26s %-7s %-15s %-8s %-12s %-11s %-10s %-8s %s\n' scenario engine kernel found ready_before ready_after after_fix exec verdict
    for f in "${rows[@]}"; do
      v=$(rv "$f" verdict); [ -n "$v" ] || v=ERROR
      printf '%-26s %-7s %-15s %-8s %-12s %-11s %-10s %-8s %s\n' "${f#*/}" "${f%%/*}" "$kernel" "$(rv "$f" found)" \
        "$(rv "$f" ready_before)" "$(rv "$f" ready_after)" "$(rv "$f" after_env)" "$(rv "$f" exec)" "$v"
      if [ "$v" = OK ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
    done
    for f in "${missing[@]}"; do
      printf '%-26s %-7s %-15s %s\n' "${f#*/}" "${f%%/*}" "$kernel" "ERROR (row missing)"; FAIL=$((FAIL + 1))
    done
    echo
    for f in "${rows[@]}"; do
      [ "$(rv "$f" verdict)" = OK ] || printf '  %s [%s]: %s\n' "${f#*/}" "${f%%/*}" "$(rv "$f" why)"
    done
    echo "step-1 errors:"
    for f in "${rows[@]}"; do [ "$(rv "$f" found)" = built ] || printf '  %s [%s]: %s\n' "${f#*/}" "${f%%/*}" "$(rv "$f" error)"; done
    echo "guest: $(tr '\n' ' ' <"$out/guest.txt" 2>/dev/null)"
  } >"$out/summary.txt"
  cat "$out/summary.txt"
  for f in "${rows[@]}" "${missing[@]}"; do
    jq -Rn --arg name "${f#*/}" '[inputs | select(test("^[^=]+=")) | index("=") as $i | {key: .[:$i], value: .[$i + 1:]}] | from_entries | .name = $name' \
      <"$out/$f/result" 2>/dev/null || true
  done | jq -s . >"$out/results.json"
}
