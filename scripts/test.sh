#!/usr/bin/env bash
# berth's whole test suite: installs what it needs, builds, runs every test with tap, and ends
# with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
berth_install_packages || exit 1
berth_build || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
npx tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# tap's closing summary: "# { total: 79, pass: 78, fail: 1 }" (fail omitted when zero).
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
pass=${pass:-0}
fail=${fail:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
# What failed, gathered at the end (a long run's failures are far above it, and CI keeps only
# the end): each "not ok" line with its diagnostics, nested subtests included.
if [ "$status" -ne 0 ]; then
  echo "# what failed:"
  awk -f scripts/failures.awk "$log" | head -n 250
fi
echo "$pass passed, $fail failed"
exit "$status"
