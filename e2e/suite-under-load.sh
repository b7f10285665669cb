#!/usr/bin/env bash
# The Maven suite (unit and integration tests; not the QEMU guest e2e) run N times in a row
# (default 5) while two CPU-burning processes run beside it, as a busy CI machine would be.
# Prints each run's totals and the tests that failed, then 'suite under load: N runs, F failed';
# exits 0 only when no run failed. Logs and the failed runs' reports: target/suite-under-load/.
#
#   e2e/suite-under-load.sh [N]          BURNERS=2 (how many busy loops), MVN_ARGS (extra Maven
#                                        arguments, e.g. -o for offline, -pl engine)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${1:-5}"
BURNERS="${BURNERS:-2}"
OUT="$ROOT/target/suite-under-load"
case "$RUNS" in '' | *[!0-9]* | 0) echo "usage: $0 [RUNS >= 1]" >&2; exit 2 ;; esac

if [ -z "${JAVA_HOME:-}" ]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if [ -x "$j/bin/java" ]; then export JAVA_HOME="$j"; break; fi
  done
fi
[ -n "${JAVA_HOME:-}" ] || { echo "suite-under-load: no JDK found; set JAVA_HOME" >&2; exit 2; }

burner_pids=()
stop_burners() {
  local p
  for p in "${burner_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${burner_pids[@]}"; do wait "$p" 2>/dev/null; done
  burner_pids=()
}
trap stop_burners EXIT
trap 'stop_burners; exit 130' INT TERM
for _ in $(seq 1 "$BURNERS"); do
  sh -c 'while :; do :; done' &
  burner_pids+=($!)
done
echo "suite-under-load: $RUNS runs with $BURNERS busy loops (pids ${burner_pids[*]}) on $(nproc) cores"

rm -rf "$OUT"
mkdir -p "$OUT"
failed_runs=0
for run in $(seq 1 "$RUNS"); do
  log="$OUT/run-$run.log"
  # Earlier runs' reports must not count again.
  rm -rf "$ROOT"/*/target/surefire-reports
  start=$(date +%s)
  # Test failures do not stop the build, so that every module's tests run each time; the
  # reports say what failed. A non-zero status then means the build itself broke.
  # shellcheck disable=SC2086
  (cd "$ROOT" && ./mvnw -B ${MVN_ARGS:-} -Dmaven.test.failure.ignore=true verify) >"$log" 2>&1
  mvn_rc=$?
  secs=$(( $(date +%s) - start ))
  tests=0 failures=0 errors=0 skipped=0
  for f in "$ROOT"/*/target/surefire-reports/*.txt; do
    [ -f "$f" ] || continue
    line=$(grep -m1 '^Tests run:' "$f") || continue
    set -- $(echo "$line" | sed -E 's/Tests run: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+), Skipped: ([0-9]+).*/\1 \2 \3 \4/')
    tests=$((tests + $1)) failures=$((failures + $2)) errors=$((errors + $3)) skipped=$((skipped + $4))
  done
  status=ok
  if [ "$mvn_rc" -ne 0 ] || [ $((failures + errors)) -ne 0 ] || [ "$tests" -eq 0 ]; then
    status=FAILED
    failed_runs=$((failed_runs + 1))
    mkdir -p "$OUT/run-$run-reports"
    cp "$ROOT"/*/target/surefire-reports/*.txt "$OUT/run-$run-reports/" 2>/dev/null
  fi
  echo "run $run/$RUNS: $status: $tests tests, $failures failures, $errors errors, $skipped skipped, ${secs}s (maven exit $mvn_rc)"
  if [ "$status" = FAILED ]; then
    # Each failed test with the first line of its message.
    grep -h -A1 -E '<<< (FAILURE|ERROR)!' "$ROOT"/*/target/surefire-reports/*.txt 2>/dev/null \
      | grep -v '^--$' | sed 's/^/    /' | cut -c1-240
    [ "$tests" -eq 0 ] && tail -20 "$log" | sed 's/^/    /'
  fi
done
stop_burners
echo "suite under load: $RUNS runs, $failed_runs failed"
[ "$failed_runs" -eq 0 ]
