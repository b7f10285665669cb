#!/usr/bin/env bash
# The control plane as processes: `panastor control-plane` and three `panastor engine`s on
# this machine (each its own ports and state dir, sharing a core), registered with it. Through
# the CLI: disk pools on sparse files, a repl=2 volume created, published, verified with
# checksummed IO through Panastor's initiator, resized and destroyed; the control plane's
# process killed outright (Runtime.halt, as kill -9: no shutdown hook, nothing flushed) at a
# step of create, of publish and of destroy, restarted on the same store, the operation asked
# again: it completes and no engine holds a replica or nexus the store does not know; engines
# killed with SIGKILL: a replica's engine back within the wait window (its child brought back by
# a partial rebuild), the nexus node's (the volume republished on the other node, fenced to it,
# verified; the old node's replica put back when it returns); then create + publish of 50 repl=2
# volumes timed (p50/p99). Everything listens on 127.0.0.1 on
# ports chosen free and is stopped at the end.
#   e2e/control-plane.sh [VOLUMES]      (default 50)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VOLUMES="${1:-50}"
OUT="${E2E_OUT:-$ROOT/target/e2e}/control-plane"
rm -rf "$OUT"; mkdir -p "$OUT"
P="$ROOT/panastor"
"$P" build >/dev/null

NAME="control-plane e2e"
. "$ROOT/e2e/processes.sh"

start_cp() { # [extra options]: starts the control plane on the store, waits for its ready line
  : >"$OUT/cp.out"
  "$P" control-plane --store "file:$OUT/store" --grpc "$CP" --heartbeat-interval 500ms --node-timeout 10s \
    --reconcile-period 1s "$@" >"$OUT/cp.out" 2>>"$OUT/cp.err" &
  CP_PID=$!
  for _ in $(seq 1 200); do grep -q ready "$OUT/cp.out" 2>/dev/null && return 0; sleep 0.1; done
  fail "the control plane did not start"
}
await_nodes() { # until all three engines are online
  for _ in $(seq 1 200); do
    [ "$("$P" node list "${C[@]}" 2>/dev/null | grep -c ' Online ')" = 3 ] && return 0; sleep 0.1
  done
  fail "the engines did not all register"
}
# Every replica and nexus the engines hold for volume $1: "replicas nexuses".
held() {
  local r=0 n=0 i
  for i in 1 2 3; do
    r=$((r + $("$P" replica list --engine "${ENGINES[$i]}" -o json | grep -c "\"entity_id\": \"$1\"" || true)))
    n=$((n + $("$P" nexus list --engine "${ENGINES[$i]}" -o json | grep -c "\"uuid\": \"$1\"" || true)))
  done
  echo "$r $n"
}
uuid_of() { "$P" volume get "$1" "${C[@]}" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["uuid"])'; }
uri_of() { "$P" volume get "$1" "${C[@]}" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"]["uri"])'; }
# Stops the control plane at the Nth time it reaches STEP, running the command given; restarts it.
crash_during() { # STEP N CMD...
  local step=$1 n=$2; shift 2
  kill -TERM "$CP_PID"; wait "$CP_PID" 2>/dev/null || true
  start_cp --crash-at "$step:$n"
  await_nodes
  if "$@" "${C[@]}" >/dev/null 2>>"$OUT/cli.err"; then fail "'$*' finished although the control plane died at $step"; fi
  local rc=0; wait "$CP_PID" 2>/dev/null || rc=$?
  [ "$rc" = 137 ] || fail "the control plane exited $rc, not 137, at $step"
  grep -q "halting at $step" "$OUT/cp.err" || fail "the control plane did not reach $step"
  start_cp
  await_nodes
  "$@" "${C[@]}" >/dev/null || fail "'$*' asked again after the crash at $step"
  echo "  killed at $step ($n): asked again, done"
}
field() { # volume python-expression-on-v: a field of `volume get -o json`
  "$P" volume get "$1" "${C[@]}" -o json 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
await_field() { # volume expression wanted seconds what
  local i
  for i in $(seq 1 $(($4 * 2))); do [ "$(field "$1" "$2")" = "$3" ] && return 0; sleep 0.5; done
  fail "$5 (volume $1: $2 is $(field "$1" "$2"), not $3, after $4 s)"
}
node_index() { echo "${1#node-}"; }

start_cp
declare -A ENGINES ENGINE_ARGS
start_engine() { # i: (re)starts engine i on its ports and state dir
  local i=$1
  # shellcheck disable=SC2086
  "$P" engine ${ENGINE_ARGS[$i]} >>"$OUT/engine-$i.out" 2>>"$OUT/engine-$i.err" &
  ENGINE_PIDS[$((i - 1))]=$!
}
for i in 1 2 3; do
  g=$(free_port)
  ENGINES[$i]="127.0.0.1:$g"
  ENGINE_ARGS[$i]="--cores 1 --node-name node-$i --grpc 127.0.0.1:$g --replica-listen 127.0.0.1:$(free_port) \
    --nexus-listen 127.0.0.1:$(free_port) --metrics off --state-dir $OUT/state-$i --control-plane $CP --node-labels zone=z$i"
  start_engine "$i"
  truncate -s 2G "$OUT/disk-$i.img"
done
await_nodes
for i in 1 2 3; do "$P" diskpool create "pool-$i" --node "node-$i" "$OUT/disk-$i.img" "${C[@]}" >/dev/null; done
"$P" node list "${C[@]}"
"$P" diskpool list "${C[@]}"

echo "control-plane e2e: a repl=2 volume through the CLI"
"$P" volume create e2e-a --size 64MiB --replicas 2 "${C[@]}" >/dev/null
URI=$("$P" volume publish e2e-a "${C[@]}")
"$P" bench --verify --rw randrw --qd 16 --runtime 3s --ramp 0 "$URI" >"$OUT/verify-a.txt" 2>>"$OUT/bench.err" \
  || fail "verified IO on $URI"
"$P" volume resize e2e-a 128MiB "${C[@]}" >/dev/null
"$P" bench --verify --rw randrw --qd 16 --runtime 2s --ramp 0 "$URI" >"$OUT/verify-a2.txt" 2>>"$OUT/bench.err" \
  || fail "verified IO on $URI after the resize"
U=$(uuid_of e2e-a)
nexus_size() { # the size of volume $1's nexus, on whichever engine has it
  local i
  for i in 1 2 3; do
    "$P" nexus list --engine "${ENGINES[$i]}" -o json | python3 -c 'import json,sys
for n in json.load(sys.stdin).get("nexus_list", []):
    if n["uuid"] == sys.argv[1]: print(n["size"])' "$1"
  done
}
[ "$(nexus_size "$U")" = 134217728 ] || fail "the nexus is $(nexus_size "$U") bytes after the resize, not 128 MiB"
"$P" volume destroy e2e-a "${C[@]}" >/dev/null
[ "$(held "$U")" = "0 0" ] || fail "volume e2e-a left $(held "$U") (replicas nexuses) behind"
echo "  created, published, verified, resized, verified, destroyed: nothing left"

echo "control-plane e2e: the control plane killed mid-operation"
crash_during volume.engine.create-replica 2 "$P" volume create e2e-b --size 32MiB --replicas 2
U=$(uuid_of e2e-b)
[ "$(held "$U")" = "2 0" ] || fail "after the create: $(held "$U") (replicas nexuses), not 2 0"
crash_during volume.engine.publish-nexus 1 "$P" volume publish e2e-b
[ "$(held "$U")" = "2 1" ] || fail "after the publish: $(held "$U") (replicas nexuses), not 2 1"
"$P" bench --verify --rw randrw --qd 16 --runtime 2s --ramp 0 "$(uri_of e2e-b)" >"$OUT/verify-b.txt" \
  2>>"$OUT/bench.err" || fail "verified IO after the publish"
crash_during volume.engine.destroy-replica 1 "$P" volume destroy e2e-b
[ "$(held "$U")" = "0 0" ] || fail "after the destroy: $(held "$U") (replicas nexuses) left"
"$P" volume get e2e-b "${C[@]}" >/dev/null 2>&1 && fail "volume e2e-b is still there"

echo "control-plane e2e: engines killed with SIGKILL; the volume heals"
"$P" volume create e2e-h --size 32MiB --replicas 2 "${C[@]}" >/dev/null
H_URI=$("$P" volume publish e2e-h "${C[@]}")
T=$(field e2e-h 'v["state"]["target_node"]')
R=$(field e2e-h '[r["node"] for r in v["state"]["replicas"] if r["node"] != v["state"]["target_node"]][0]')
RU=$(field e2e-h '[r["uuid"] for r in v["state"]["replicas"] if r["node"] != v["state"]["target_node"]][0]')
HU=$(uuid_of e2e-h)
"$P" bench --verify --rw randrw --qd 16 --runtime 2s --ramp 0 "$H_URI" >"$OUT/verify-h1.txt" 2>>"$OUT/bench.err" || fail "verified IO on e2e-h"
# 1. The replica's engine killed and back within the wait window: the child is brought back, a partial rebuild.
kill -9 "${ENGINE_PIDS[$(($(node_index "$R") - 1))]}"
await_field e2e-h 'v["state"]["status"]' VOLUME_DEGRADED 60 "the volume did not turn Degraded when node $R died"
child_state() { # engine-index nexus-uuid replica-uuid: that child's state in the nexus
  "$P" nexus list --engine "${ENGINES[$1]}" -o json | python3 -c 'import json,sys
r=json.load(sys.stdin)
print(" ".join(c["state"] for n in r.get("nexus_list", []) if n["uuid"] == sys.argv[1] for c in n["children"] if sys.argv[2] in c["uri"]))' "$2" "$3"
}
for _ in $(seq 1 60); do [ "$(child_state "$(node_index "$T")" "$HU" "$RU")" = CHILD_STATE_FAULTED ] && break; sleep 0.5; done
[ "$(child_state "$(node_index "$T")" "$HU" "$RU")" = CHILD_STATE_FAULTED ] || fail "the dead replica's child is not faulted"
# Faulted (its controller lost past the loss timeout), the volume serves on from the other replica.
"$P" bench --verify --rw randrw --qd 16 --runtime 2s --ramp 0 "$H_URI" >"$OUT/verify-h2.txt" 2>>"$OUT/bench.err" \
  || fail "IO on the degraded volume"
start_engine "$(node_index "$R")"
await_field e2e-h 'v["state"]["status"]' VOLUME_ONLINE 90 "the volume did not come back Online after $R restarted"
partial=$("$P" rebuild history "$HU" --engine "${ENGINES[$(node_index "$T")]}" -o json | python3 -c 'import json,sys
r=json.load(sys.stdin)
print(" ".join(("partial" if x.get("is_partial") else "full") + ":" + x["state"] for h in r.get("histories", []) for x in h["records"] if sys.argv[1] in x["child_uri"]))' "$RU")
case "$partial" in *partial:Completed*) ;; *) fail "no partial rebuild of the replica on $R (history: $partial)";; esac
echo "  $R killed and restarted: brought back by a partial rebuild ($partial), Online"
# 2. The nexus node killed: republished on the other node, the replica fenced to it.
kill -9 "${ENGINE_PIDS[$(($(node_index "$T") - 1))]}"
await_field e2e-h 'v["state"]["target_node"]' "$R" 90 "the volume was not republished on $R when its nexus node $T died"
H_URI2=$(field e2e-h 'v["state"]["uri"]')
[ "$H_URI2" != "$H_URI" ] || fail "the republished volume kept its old URI"
"$P" bench --verify --rw randrw --qd 16 --runtime 2s --ramp 0 "$H_URI2" >"$OUT/verify-h3.txt" 2>>"$OUT/bench.err" \
  || fail "verified IO on the republished volume"
echo "  nexus node $T killed: republished on $R ($H_URI2), verified"
start_engine "$(node_index "$T")"
await_field e2e-h 'v["state"]["status"]' VOLUME_ONLINE 120 "the volume did not come back Online with $T's replica"
[ "$(held "$HU")" = "2 1" ] || fail "after healing: $(held "$HU") (replicas nexuses), not 2 1"
echo "  $T restarted: its old nexus collected, its replica put back and rebuilt, Online"
"$P" volume destroy e2e-h "${C[@]}" >/dev/null
await_nodes

echo "control-plane e2e: create + publish of $VOLUMES repl=2 volumes, one after another"
"$P" volume bench --volumes "$VOLUMES" --replicas 2 --size 32MiB "${C[@]}" 2>"$OUT/bench-volumes.err" | tee "$OUT/bench-volumes.txt"
for i in 1 2 3; do
  left=$("$P" replica list --engine "${ENGINES[$i]}" | tail -n +2 | wc -l)
  [ "$left" = 0 ] || fail "node-$i holds $left replica(s) after the bench"
done
echo "control-plane e2e: PASSED"
