#!/usr/bin/env bash
# The scale loop: a control plane and three engines as processes (as e2e/control-plane.sh
# starts them), then VOLUMES repl=2 thick 8 MiB volumes (thick, so that placement spreads them
# over all three pools) created and published one after another, all of them live at once, then
# each unpublished and destroyed: `volume bench --unpublish`. Afterwards no engine may hold a
# replica, a nexus, an NVMe-oF subsystem beyond the discovery one, a target connection or an
# initiator controller, and the control plane no volume. Each engine's memory is taken after a
# warm-up round and after the full loop (RSS from /proc; live heap after a full GC and NMT's
# committed total, through jcmd) and printed as a table; the run fails on a clear leak only.
#   e2e/scale.sh [VOLUMES]      (default 200; SCALE_WARMUP volumes first, default 20)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VOLUMES="${1:-200}"
WARMUP="${SCALE_WARMUP:-20}"
# Growth past the warm-up figures that counts as a leak. An engine's RSS grows by tens of MiB
# from 20 live volumes to 200 without one: the JIT's code cache, G1 committing heap for the
# larger working set, buffer pools at a higher water mark (a warm-up of 20 then 200 measured
# +2 to +37 MiB; a second round of 200 after a first, +5 to +11 MiB). A leak of this loop is
# per volume, so it scales with VOLUMES: 64 MiB over 200 volumes is 320 KiB a volume left
# behind. Live heap after a full GC hardly moves (+0 to +3 MiB): past 32 MiB, objects are
# being kept for volumes that are gone.
LEAK_MIB="${SCALE_LEAK_MIB:-64}"
HEAP_LEAK_MIB="${SCALE_HEAP_LEAK_MIB:-32}"
OUT="${E2E_OUT:-$ROOT/target/e2e}/scale"
rm -rf "$OUT"; mkdir -p "$OUT"
P="$ROOT/panastor"
[ "$("$P" needs-build)" = no ] || "$P" build >/dev/null
STARTED=$SECONDS

NAME="scale e2e"
. "$ROOT/e2e/processes.sh"

"$P" control-plane --store "file:$OUT/store" --grpc "$CP" --heartbeat-interval 500ms --node-timeout 10s \
  --reconcile-period 1s >"$OUT/cp.out" 2>>"$OUT/cp.err" &
CP_PID=$!
for _ in $(seq 1 200); do grep -q ready "$OUT/cp.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$OUT/cp.out" || fail "the control plane did not start"
# How many entries the list KEY of a JSON answer on stdin holds.
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }
declare -A ENGINES
for i in 1 2 3; do
  g=$(free_port)
  ENGINES[$i]="127.0.0.1:$g"
  # Native memory tracking, so jcmd can tell the JVM's own native memory from the rest of RSS.
  # shellcheck disable=SC2086
  PANASTOR_JAVA_OPTS="${PANASTOR_JAVA_OPTS:-} -XX:NativeMemoryTracking=summary" "$P" engine --cores 1 \
    --node-name "node-$i" --grpc "127.0.0.1:$g" --replica-listen "127.0.0.1:$(free_port)" \
    --nexus-listen "127.0.0.1:$(free_port)" --metrics off --state-dir "$OUT/state-$i" --control-plane "$CP" \
    >>"$OUT/engine-$i.out" 2>>"$OUT/engine-$i.err" &
  ENGINE_PIDS[$((i - 1))]=$!
  truncate -s 2G "$OUT/disk-$i.img"
done
for _ in $(seq 1 300); do
  [ "$("$P" node list "${C[@]}" 2>/dev/null | grep -c ' Online ')" = 3 ] && break; sleep 0.2
done
[ "$("$P" node list "${C[@]}" | grep -c ' Online ')" = 3 ] || fail "the engines did not all register"
for i in 1 2 3; do "$P" diskpool create "pool-$i" --node "node-$i" "$OUT/disk-$i.img" "${C[@]}" >/dev/null; done

declare -A MEM
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$2/status"; }
# One engine's memory, "RSS HEAP NMT" in MiB: RSS from /proc; the heap's live bytes after a
# full GC (what is left then is reachable: a leak of objects shows there, G1's free regions
# do not); NMT's committed total (heap, code cache, threads, and the native memory the JVM
# hands out, FFM's Arena allocations among it).
memory() {
  local pid=$1 heap nmt
  jcmd "$pid" GC.run >/dev/null
  heap=$(jcmd "$pid" GC.heap_info | sed -n 's/.* used \([0-9]*\)K.*/\1/p' | head -n1)
  nmt=$(jcmd "$pid" VM.native_memory summary | sed -n 's/^Total: reserved=[0-9]*KB, committed=\([0-9]*\)KB.*/\1/p')
  echo "$(($(kib VmRSS "$pid") / 1024)) $((heap / 1024)) $((nmt / 1024))"
}
snapshot() { # label: each engine's figures; NMT's by category kept beside them, and diffed with the first
  local i pid
  for i in 1 2 3; do
    pid=${ENGINE_PIDS[$((i - 1))]}
    MEM[$1,$i]=$(memory "$pid")
    if [ "$1" = warm ]; then
      jcmd "$pid" VM.native_memory baseline >/dev/null
    else
      jcmd "$pid" VM.native_memory summary.diff >"$OUT/nmt-diff-$i.txt"
    fi
  done
}
bench() { # volumes log: create+publish all, then unpublish + destroy each
  "$P" volume bench --volumes "$1" --warmup 0 --replicas 2 --size 8MiB --unpublish --timeout 600 "${C[@]}" \
    2>"$OUT/$2.err" >"$OUT/$2.txt" || fail "volume bench of $1 volumes (see $OUT/$2.err)"
}

echo "scale e2e: warm-up, $WARMUP volumes"
bench "$WARMUP" warmup
snapshot warm
echo "scale e2e: $VOLUMES repl=2 volumes created, published, unpublished, destroyed"
t0=$SECONDS
bench "$VOLUMES" loop
echo "  in $((SECONDS - t0)) s:"
sed 's/^/  /' "$OUT/loop.txt"
snapshot end

echo "scale e2e: what is left"
v=$("$P" volume list "${C[@]}" -o json | count volumes)
[ "$v" = 0 ] || fail "$v volume(s) left in the control plane"
for i in 1 2 3; do
  r=$("$P" replica list --engine "${ENGINES[$i]}" -o json | count replicas)
  n=$("$P" nexus list --engine "${ENGINES[$i]}" -o json | count nexus_list)
  # The discovery subsystem is always there; any other is a share left behind, and a
  # connection one a nexus did not close.
  read -r s k <<<"$("$P" host target --engine "${ENGINES[$i]}" -o json | python3 -c 'import json,sys
t=json.load(sys.stdin)
print(sum(1 for s in t["subsystems"] if "discovery" not in s["nqn"]), len(t["connections"]))')"
  # What the engine holds as an initiator: a nexus's controller of a remote replica.
  h=$("$P" host controllers --engine "${ENGINES[$i]}" -o json | python3 -c 'import json,sys
print(len(json.load(sys.stdin)["controllers"]))')
  echo "  node-$i: $r replicas, $n nexuses, $s subsystems, $k target connections, $h initiator controllers"
  [ "$r $n $s $k $h" = "0 0 0 0 0" ] || fail "node-$i holds $r replica(s), $n nexus(es), $s subsystem(s), $k connection(s), $h controller(s) after the loop"
done

echo "scale e2e: engine memory (MiB) after $WARMUP volumes and after $WARMUP + $VOLUMES"
{
  echo "NODE RSS_WARM RSS_END RSS_GROWTH HEAP_LIVE_WARM HEAP_LIVE_END NMT_WARM NMT_END"
  for i in 1 2 3; do
    read -r rw hw nw <<<"${MEM[warm,$i]}"
    read -r re he ne <<<"${MEM[end,$i]}"
    echo "node-$i $rw $re $((re - rw)) $hw $he $nw $ne"
  done
} | column -t | sed 's/^/  /'
for i in 1 2 3; do
  read -r rw hw _ <<<"${MEM[warm,$i]}"; read -r re he _ <<<"${MEM[end,$i]}"
  [ $((re - rw)) -le "$LEAK_MIB" ] || fail "node-$i's RSS grew $((re - rw)) MiB over the loop (bound $LEAK_MIB MiB)"
  [ $((he - hw)) -le "$HEAP_LEAK_MIB" ] \
    || fail "node-$i's live heap grew $((he - hw)) MiB over the loop (bound $HEAP_LEAK_MIB MiB)"
done
echo "scale e2e: PASSED in $((SECONDS - STARTED)) s"
