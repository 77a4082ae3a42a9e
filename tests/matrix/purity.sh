# Sourced by inner.sh INSIDE an outer job container (issue 10): proves that a
# command leaves no file or directory anywhere. It lists the file system
# before and after (files and symlinks with size and mtime, directories by
# name) on /, $HOME, /tmp, /run and /var/tmp, each within its own mount
# (-xdev), and compares.
#   purity_snapshot FILE              write a listing
#   purity_compare LABEL BEFORE AFTER print "@@purity_LABEL=pure|impure" and
#                                     the differing lines (at most 40)
# Left out: /proc, /sys, /dev (kernel views, not files anything leaves) and
# the matrix's own mounts (/podrun-out where the listings and reports go,
# /podrun-ctx, /podrun-matrix, the doctor binary).

purity_snapshot() {
  local out=$1 roots=(/) r
  for r in "${HOME:-}" /tmp /run /var/tmp; do
    [ -n "$r" ] && [ -d "$r" ] && roots+=("$r")
  done
  # -printf: directories by name (their mtime moves whenever an entry does),
  # everything else with type, size and mtime; symlinks with their target.
  find "${roots[@]}" -xdev \
    \( -path /proc -o -path /sys -o -path /dev -o -path /podrun-out -o -path /podrun-ctx \
       -o -path /podrun-matrix -o -path /usr/local/bin/podrun-doctor \) -prune \
    -o -type d -printf 'd %p\n' \
    -o -type l -printf 'l %p -> %l\n' \
    -o -printf '%y %p %s %T@\n' 2>/dev/null | LC_ALL=C sort -u >"$out"
}

purity_compare() {
  local label=$1 before=$2 after=$3 diff
  if [ ! -s "$before" ] || [ ! -s "$after" ]; then
    echo "@@purity_$label=unknown"
    echo "purity: no listing ($before, $after)"
    return
  fi
  diff=$(LC_ALL=C comm -3 "$before" "$after")
  if [ -z "$diff" ]; then
    echo "@@purity_$label=pure"
  else
    echo "@@purity_$label=impure"
    echo "purity ($label): '-' only before, '+' only after:"
    LC_ALL=C comm -23 "$before" "$after" | head -n 20 | sed 's/^/  - /'
    LC_ALL=C comm -13 "$before" "$after" | head -n 20 | sed 's/^/  + /'
  fi
}
