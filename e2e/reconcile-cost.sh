#!/usr/bin/env bash
# What a reconcile pass costs the control plane, a report (nothing asserted: the figures move
# with whatever else the machine runs). A control plane (--reconcile-period 1s) and three
# engines as processes; an idle window first with no volume, then VOLUMES repl=2 volumes made
# (PUBLISHED of them published) and a second idle window. Over each window: the control-plane
# process's CPU (utime+stime from /proc/PID/stat: every thread, GC and JIT and the heartbeats
# included) and the reconcile thread's own CPU in its passes (the Reconciler's DEBUG line, from
# ThreadMXBean), per pass; and the engines' CPU, which answer each pass's list calls.
#   e2e/reconcile-cost.sh [VOLUMES [PUBLISHED [WINDOW_S]]]     (default 1000 100 30)
#   RECONCILE_JFR=1 e2e/reconcile-cost.sh ...   also a JFR recording of the second window, its
#                                               hottest frames printed
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VOLUMES="${1:-1000}"
PUBLISHED="${2:-100}"
WINDOW="${3:-30}"
# Idle time before each window: a window right after start-up measured the JIT compiling the
# control plane's code more than the passes (more CPU with no volume than with 1,000).
SETTLE="${RECONCILE_SETTLE_S:-20}"
OUT="${E2E_OUT:-$ROOT/target/e2e}/reconcile-cost"
rm -rf "$OUT"; mkdir -p "$OUT"
P="$ROOT/panastor"
[ "$("$P" needs-build)" = no ] || "$P" build >/dev/null
STARTED=$SECONDS
HZ=$(getconf CLK_TCK)

NAME="reconcile-cost"
. "$ROOT/e2e/processes.sh"

# The Reconciler's DEBUG line gives each pass's number and its thread's CPU.
PANASTOR_JAVA_OPTS="${PANASTOR_JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.log.io.panastor.control.Reconciler=debug" \
  "$P" control-plane --store "file:$OUT/store" --grpc "$CP" --heartbeat-interval 2s --node-timeout 10s \
  --reconcile-period 1s >"$OUT/cp.out" 2>>"$OUT/cp.err" &
CP_PID=$!
for _ in $(seq 1 200); do grep -q ready "$OUT/cp.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$OUT/cp.out" || fail "the control plane did not start"
for i in 1 2 3; do
  "$P" engine --cores 1 --node-name "node-$i" --grpc "127.0.0.1:$(free_port)" --replica-listen "127.0.0.1:$(free_port)" \
    --nexus-listen "127.0.0.1:$(free_port)" --metrics off --state-dir "$OUT/state-$i" --control-plane "$CP" \
    >>"$OUT/engine-$i.out" 2>>"$OUT/engine-$i.err" &
  ENGINE_PIDS[$((i - 1))]=$!
  truncate -s 4G "$OUT/disk-$i.img"
done
for _ in $(seq 1 300); do
  [ "$("$P" node list "${C[@]}" 2>/dev/null | grep -c ' Online ')" = 3 ] && break; sleep 0.2
done
[ "$("$P" node list "${C[@]}" | grep -c ' Online ')" = 3 ] || fail "the engines did not all register"
for i in 1 2 3; do "$P" diskpool create "pool-$i" --node "node-$i" "$OUT/disk-$i.img" "${C[@]}" >/dev/null; done

# How many entries the list KEY of a JSON answer on stdin holds.
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }    # utime + stime, clock ticks
last_pass() { sed -n 's/.* pass \([0-9]*\): .*/\1/p' "$OUT/cp.err" | tail -n1; }
declare -A ROW
window() { # label volumes: WINDOW seconds of idle passes measured
  local label=$1 p0 p1 c0 c1 e0=() e1=() i jfr=""
  sleep "$SETTLE"     # the start-up's or the last operation's calls, GC and JIT settle
  if [ "${RECONCILE_JFR:-0}" = 1 ] && [ "$label" = loaded ]; then
    # A sample a millisecond: at the default 10-20 ms, a control plane this idle gives a handful.
    jcmd "$CP_PID" JFR.start name=pass settings=profile 'jdk.ExecutionSample#period=1ms' >/dev/null; jfr=yes
  fi
  p0=$(last_pass); c0=$(ticks "$CP_PID")
  for i in 0 1 2; do e0[$i]=$(ticks "${ENGINE_PIDS[$i]}"); done
  sleep "$WINDOW"
  p1=$(last_pass); c1=$(ticks "$CP_PID")
  for i in 0 1 2; do e1[$i]=$(ticks "${ENGINE_PIDS[$i]}"); done
  [ -n "$jfr" ] && jcmd "$CP_PID" JFR.stop name=pass filename="$OUT/pass.jfr" >/dev/null
  local passes=$((p1 - p0)) engines=$(( (e1[0] - e0[0]) + (e1[1] - e0[1]) + (e1[2] - e0[2]) ))
  [ "$passes" -gt 0 ] || fail "no reconcile pass in the $label window"
  # The thread's CPU and wall time of the passes in the window, from their DEBUG lines.
  local thread
  thread=$(sed -n 's/.* pass \([0-9]*\): \([0-9]*\) us CPU, \([0-9]*\) us wall/\1 \2 \3/p' "$OUT/cp.err" \
    | awk -v a="$p0" -v b="$p1" '$1 > a && $1 <= b {n++; c += $2; w += $3; if ($2 > m) m = $2}
      END {printf "%.1f %.1f %.1f", c / n / 1000, m / 1000, w / n / 1000}')
  ROW[$label]="$2 $passes $(awk -v t=$((c1 - c0)) -v hz="$HZ" -v p="$passes" -v e="$engines" -v w="$WINDOW" \
    'BEGIN {printf "%.2f %.1f %s %.1f %.1f", t / hz, t / hz / p * 1000, "'"$thread"'", e / hz / p * 1000, e / hz / w * 1000}')"
}

echo "reconcile-cost: idle window of ${WINDOW} s, no volume"
window empty 0
echo "reconcile-cost: $VOLUMES repl=2 volumes ($PUBLISHED published)"
t0=$SECONDS
"$P" volume bench --volumes "$VOLUMES" --publish "$PUBLISHED" --keep --warmup 0 --replicas 2 --size 4MiB \
  --timeout 600 "${C[@]}" >"$OUT/bench.txt" 2>"$OUT/bench.err" || fail "making the volumes (see $OUT/bench.err)"
echo "  made in $((SECONDS - t0)) s:"
sed 's/^/  /' "$OUT/bench.txt"
n=$("$P" volume list "${C[@]}" -o json | count volumes)
[ "$n" = "$VOLUMES" ] || fail "the control plane holds $n volumes, not $VOLUMES"
echo "reconcile-cost: idle window of ${WINDOW} s, $VOLUMES volumes"
window loaded "$VOLUMES"
# The engines without a control plane: what holding the volumes costs them with no pass asking.
echo "reconcile-cost: the control plane stopped, the engines' own idle CPU over ${WINDOW} s"
kill -TERM "$CP_PID"; wait "$CP_PID" 2>/dev/null || true; CP_PID=""
sleep 5
for i in 0 1 2; do e0[$i]=$(ticks "${ENGINE_PIDS[$i]}"); done
sleep "$WINDOW"
for i in 0 1 2; do e1[$i]=$(ticks "${ENGINE_PIDS[$i]}"); done
alone=$(awk -v e=$(( (e1[0] - e0[0]) + (e1[1] - e0[1]) + (e1[2] - e0[2]) )) -v hz="$HZ" -v w="$WINDOW" \
  'BEGIN {printf "%.1f", e / hz / w * 1000}')

echo "reconcile-cost: per reconcile pass (period 1 s, 3 engines; CPU in ms)"
{
  echo "VOLUMES PASSES CP_CPU_S CP_CPU_PER_PASS PASS_THREAD_CPU_MEAN PASS_THREAD_CPU_MAX PASS_WALL_MEAN_MS ENGINES_CPU_PER_PASS ENGINES_CPU_PER_S"
  echo "${ROW[empty]}"
  echo "${ROW[loaded]}"
  echo "$VOLUMES(no-control-plane) - - - - - - - $alone"
} | column -t | sed 's/^/  /'
read -r _ _ _ a _ <<<"${ROW[empty]}"; read -r _ _ _ b _ <<<"${ROW[loaded]}"
echo "  control-plane process CPU per pass beyond the empty control plane's: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", b - a}') ms"
if [ -f "$OUT/pass.jfr" ]; then
  echo "reconcile-cost: hottest frames in the $VOLUMES-volume window (JFR execution samples: top frame, then top 'io.panastor' frame)"
  jfr print --events jdk.ExecutionSample "$OUT/pass.jfr" >"$OUT/samples.txt"
  python3 - "$OUT/samples.txt" <<'EOF'
import collections, re, sys
top, ours, n = collections.Counter(), collections.Counter(), 0
for ev in open(sys.argv[1]).read().split("jdk.ExecutionSample")[1:]:
    frames = re.findall(r"^\s+([\w.$<>]+\(.*?\))\s+line:", ev, re.M)
    if not frames:
        continue
    n += 1
    top[frames[0]] += 1
    mine = next((f for f in frames if f.startswith("io.panastor")), None)
    if mine:
        ours[mine] += 1
print(f"  {n} samples")
for name, c in (("top frame", top), ("first io.panastor frame", ours)):
    print(f"  by {name}:")
    for f, k in c.most_common(12):
        print(f"    {100 * k / n:5.1f}%  {f}")
EOF
fi
echo "reconcile-cost: done in $((SECONDS - STARTED)) s"
