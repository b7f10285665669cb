#!/usr/bin/env bash
# A node cut off by the network and healed: no two writers, no acknowledged write lost (issue 16).
# Needs root: the topology is the test's own. A bridge on a private /24 of 10.213.0.0/16 (one no
# route or address of this machine is on), three network namespaces on it (a veth each), the control plane
# on the bridge's address and one `panastor engine` per namespace, every listener on the test's
# addresses alone. A repl=3 volume published on node-1; writer A in node-1's namespace writes
# region A (all must be acknowledged), then writes region B on while node-1 is cut off (its
# bridge-side veth down: node-1 reaches neither the control plane nor the other nodes, writer A
# still reaches node-1's nexus), each write's outcome recorded. The control plane sees node-1
# Offline and republishes the volume on another node, fenced to it; writer C on the host writes
# region C and every other 4 KiB of region B's first half through the new nexus. The cut healed, node-1's old nexus
# is collected and its replica rebuilt into the new nexus; once the volume is Online with three
# Online replicas, every block is read three times through the new nexus (its children in turn)
# and judged against every writer's record (PatternWriter: a write acknowledged reads back, or a
# later write that was sent; the replicas agree), the old nexus is gone and each replica admits
# the new nexus's node alone. Prints PASSED or FAILED; logs in target/e2e/partition.
#   e2e/partition.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${E2E_OUT:-$ROOT/target/e2e}/partition"
P="$ROOT/panastor"
say() { echo "partition e2e: $*"; }
fail() {
  say "FAILED: $*"
  echo "--- control plane log (last 25 lines)"; tail -n 25 "$OUT/cp.err" 2>/dev/null || true
  echo "--- logs in $OUT"
  exit 1
}
if [ "$(id -u)" != 0 ]; then say "SKIPPED: needs root (network namespaces, a bridge)"; exit 0; fi
command -v ip >/dev/null || { say "SKIPPED: no ip command (iproute2)"; exit 0; }
rm -rf "$OUT"; mkdir -p "$OUT"
started=$SECONDS
"$P" build >/dev/null

# The writer runs on the JDK the launcher would pick (JAVA_HOME when it is new enough).
JAVA_HOME="${JAVA_HOME:-}"
if [ -z "$JAVA_HOME" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -Eq 'version "(2[2-9]|[3-9][0-9])'; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV | while read -r d; do
    "$d/bin/java" -version 2>&1 | grep -Eq 'version "(2[2-9]|[3-9][0-9])' && [ -x "$d/bin/javac" ] && { echo "${d%/}"; break; }
  done || true)
fi
[ -n "$JAVA_HOME" ] || fail "no JDK 22 or newer for the pattern writer"
LIB="$ROOT/dist/target/lib"
# Compiled here from the control module's test sources, so the tool is never older than its source.
"$JAVA_HOME/bin/javac" -d "$OUT/classes" -cp "$LIB/*" "$ROOT/control/src/test/java/io/panastor/control/PatternWriter.java"
PW=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
    -cp "$OUT/classes:$LIB/*" io.panastor.control.PatternWriter)

# ------------------------------------------------------------------ the topology, torn down on any exit
TAG=$(printf '%04x' $(($$ % 65536)))
NET=""
for o in $(seq $((10 + $$ % 200)) 254) $(seq 10 254); do
  if ! ip -4 route show | grep -q "^10\.213\.$o\." && ! ip -4 addr show | grep -q "inet 10\.213\.$o\."; then
    NET="10.213.$o"; break
  fi
done
[ -n "$NET" ] || fail "no free 10.213.x.0/24 subnet"
# Root in a container may still lack CAP_NET_ADMIN: say so rather than fail on the first `ip link`.
if ! ip netns add "ns-probe-$TAG" 2>/dev/null; then say "SKIPPED: cannot make network namespaces here"; exit 0; fi
ip netns del "ns-probe-$TAG"
BR="pbr$TAG"
declare -A NS HOSTVETH ADDR PIDS
for i in 1 2 3; do NS[$i]="ns-node-$i-$TAG"; HOSTVETH[$i]="pvh$i$TAG"; ADDR[$i]="$NET.1$i"; done
CP_PID=""
stop() { # pid...: SIGTERM, up to 30 s to exit (an engine's nexuses record a clean shutdown first), then SIGKILL
  local p alive
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 60); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  kill -KILL "$@" 2>/dev/null || true
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  local i p
  stop "${PIDS[@]}"
  stop $CP_PID
  for i in 1 2 3; do
    # Anything still in a namespace of this test is this test's: it goes with the namespace.
    for p in $(ip netns pids "${NS[$i]}" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "${NS[$i]}" 2>/dev/null || true
    ip link del "${HOSTVETH[$i]}" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  rm -f "$OUT"/disk-*.img
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
for i in 1 2 3; do
  ip netns add "${NS[$i]}"
  ip link add "${HOSTVETH[$i]}" type veth peer name "pvn$i$TAG"
  ip link set "pvn$i$TAG" netns "${NS[$i]}"
  ip link set "${HOSTVETH[$i]}" master "$BR" up
  ip netns exec "${NS[$i]}" ip addr add "${ADDR[$i]}/24" dev "pvn$i$TAG"
  ip netns exec "${NS[$i]}" ip link set "pvn$i$TAG" up
  ip netns exec "${NS[$i]}" ip link set lo up
done
in_ns() { local i=$1; shift; ip netns exec "${NS[$i]}" "$@"; }
free_port() { # [namespace index] address: a port free there
  local ns=() a=$1
  if [ $# = 2 ]; then ns=(ip netns exec "${NS[$1]}"); a=$2; fi
  "${ns[@]}" python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$a"
}
say "bridge $BR on $NET.1/24, namespaces ${NS[1]} ${NS[2]} ${NS[3]}"

# ------------------------------------------------------------------ the control plane and three engines
CP="$NET.1:$(free_port "$NET.1")"
C=(--control-plane "$CP")
"$P" control-plane --store "file:$OUT/store" --grpc "$CP" --heartbeat-interval 500ms --node-timeout 3s \
  --reconcile-period 500ms --replica-wait 10m >"$OUT/cp.out" 2>"$OUT/cp.err" &
CP_PID=$!
for _ in $(seq 1 300); do grep -q ready "$OUT/cp.out" 2>/dev/null && break; sleep 0.2; done
grep -q ready "$OUT/cp.out" || fail "the control plane did not start"
declare -A ENGINE
for i in 1 2 3; do
  a=${ADDR[$i]}
  ENGINE[$i]="$a:$(free_port "$i" "$a")"
  # `ip netns exec` execs the command: $! is the engine itself.
  ip netns exec "${NS[$i]}" "$P" engine --cores 1 --node-name "node-$i" --grpc "${ENGINE[$i]}" \
    --replica-listen "$a:$(free_port "$i" "$a")" --nexus-listen "$a:$(free_port "$i" "$a")" --metrics off \
    --state-dir "$OUT/state-$i" --control-plane "$CP" >"$OUT/engine-$i.out" 2>"$OUT/engine-$i.err" &
  PIDS[$i]=$!
  truncate -s 1G "$OUT/disk-$i.img"
done
node_status() { # node: Online, Offline, ... as `node list` says
  "$P" node list "${C[@]}" 2>/dev/null | awk -v n="$1" '$1 == n { for (i = 2; i <= NF; i++) if ($i ~ /^(Online|Offline|Unknown)$/) { print $i; exit } }'
}
await() { # seconds what command...: until the command succeeds
  local secs=$1 what=$2 end=$((SECONDS + $1)); shift 2
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "$what (not within $secs s)"
    sleep 0.5
  done
}
all_online() { [ "$("$P" node list "${C[@]}" 2>/dev/null | grep -c ' Online ')" = 3 ]; }
await 90 "the three engines did not register" all_online
for i in 1 2 3; do "$P" diskpool create "pool-$i" --node "node-$i" "$OUT/disk-$i.img" "${C[@]}" >/dev/null; done

# Every socket listening in the namespaces, and the control plane's, is on the test's subnet
# (gRPC's as IPv4-mapped IPv6, [::ffff:10.213.x.y]:port).
listeners() {
  local i
  { for i in 1 2 3; do in_ns "$i" ss -Htln | awk '{print $4}'; done
    ss -Htlnp | awk -v p="pid=$CP_PID," 'index($0, p) {print $4}'; } | sed 's/^\[::ffff:\(.*\)\]/\1/'
}
stray=$(listeners | grep -v "^$NET\." || true)
[ -z "$stray" ] || fail "listening outside $NET.0/24: $stray"
say "control plane at $CP, engines at ${ENGINE[1]} ${ENGINE[2]} ${ENGINE[3]}; $(listeners | wc -l) listeners, all on $NET.0/24"

# ------------------------------------------------------------------ the volume, and writer A before the cut
field() { # python expression on v, the volume as `volume get -o json` prints it
  "$P" volume get part "${C[@]}" -o json 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
"$P" volume create part --size 64MiB --replicas 3 "${C[@]}" >/dev/null
URI1=$("$P" volume publish part --node node-1 "${C[@]}")
VU=$(field 'v["spec"]["uuid"]')
case "$URI1" in "nvmf://${ADDR[1]}:"*) ;; *) fail "published at $URI1, not on node-1 (${ADDR[1]})";; esac
MiB=1048576
# Writer A's initiator gives up on an IO after 5 s and on a lost controller after 10 s: it keeps
# writing through the partition instead of waiting on one IO, and ends once the old nexus is gone.
A_URI="$URI1?io_timeout_ms=5000&ctrlr_loss_timeout_ms=10000"
in_ns 1 "${PW[@]}" write "$A_URI" --region "0:$((4 * MiB))" --gen 1 --qd 8 >"$OUT/writer-a1.log" 2>"$OUT/writer-a1.err" \
  || fail "writer A (region A) failed: $(tail -n 2 "$OUT/writer-a1.log")"
grep -q '^summary acknowledged=1024 failed=0$' "$OUT/writer-a1.log" \
  || fail "region A not all acknowledged: $(tail -n 1 "$OUT/writer-a1.log")"
say "volume $VU published on node-1; writer A (in ${NS[1]}) wrote region A, 1024 writes of 4 KiB, all acknowledged"

# Writer A on into region B, paced, so it is still writing when the cut comes and after.
ip netns exec "${NS[1]}" "${PW[@]}" write "$A_URI" --region "$((8 * MiB)):$((4 * MiB))" --gen 2 --qd 4 --rate 50 \
  --stop-file "$OUT/stop-a2" --drain 15 >"$OUT/writer-a2.log" 2>"$OUT/writer-a2.err" &
A2_PID=$!
PIDS[a2]=$A2_PID
acked_a2() { grep -c '^ack ' "$OUT/writer-a2.log" 2>/dev/null || true; }
a2_going() { [ "$(acked_a2)" -ge 20 ]; }
await 60 "writer A's first writes to region B were not acknowledged" a2_going

# ------------------------------------------------------------------ the cut
ip link set "${HOSTVETH[1]}" down
CUT_MS=$(date +%s%3N)
cut_at=$SECONDS
say "node-1 cut off (${HOSTVETH[1]} down) with $(acked_a2) of writer A's region-B writes acknowledged"
node1_offline() { [ "$(node_status node-1)" = Offline ]; }
await 60 "the control plane did not see node-1 Offline" node1_offline
republished() { local t; t=$(field 'v["state"]["target_node"] if v["state"].get("uri") else ""'); [ -n "$t" ] && [ "$t" != node-1 ]; }
await 90 "the volume was not republished off node-1" republished
REPUB_MS=$(date +%s%3N)
T=$(field 'v["state"]["target_node"]')
URI2=$(field 'v["state"]["uri"]')
TI=${T#node-}
say "node-1 Offline; republished on $T at $URI2 after $((SECONDS - cut_at)) s"
"${PW[@]}" write "$URI2" --region "$((16 * MiB)):$((4 * MiB))" --gen 3 --qd 8 >"$OUT/writer-c1.log" 2>"$OUT/writer-c1.err" \
  || fail "writer C (region C) failed: $(tail -n 2 "$OUT/writer-c1.log")"
"${PW[@]}" write "$URI2" --region "$((8 * MiB)):$((2 * MiB))" --step 8192 --gen 3 --qd 8 >"$OUT/writer-c2.log" 2>"$OUT/writer-c2.err" \
  || fail "writer C (over region B) failed: $(tail -n 2 "$OUT/writer-c2.log")"
grep -q '^summary acknowledged=1024 failed=0$' "$OUT/writer-c1.log" \
  || fail "region C not all acknowledged: $(tail -n 1 "$OUT/writer-c1.log")"
grep -q '^summary acknowledged=256 failed=0$' "$OUT/writer-c2.log" \
  || fail "writer C's overwrite of region B not all acknowledged: $(tail -n 1 "$OUT/writer-c2.log")"
say "writer C (on the host) wrote region C and every other 4 KiB of region B's first half through $T: 1280 writes," \
  "all acknowledged"

# ------------------------------------------------------------------ the heal
ip link set "${HOSTVETH[1]}" up
HEAL_MS=$(date +%s%3N)
say "healed after $((SECONDS - cut_at)) s cut off"
node1_online() { [ "$(node_status node-1)" = Online ]; }
await 60 "node-1 did not come back Online" node1_online
healthy() {
  [ "$(field 'v["state"]["status"] + " " + " ".join(sorted(r["state"] for r in v["state"]["replicas"]))')" \
    = "VOLUME_ONLINE Online Online Online" ]
}
await 120 "the volume did not come back Online with three Online replicas ($(field 'v["state"]' 2>/dev/null))" healthy
say "volume Online, three replicas Online, $((SECONDS - cut_at)) s after the cut"
[ "$(field 'v["state"]["target_node"]')" = "$T" ] || fail "the nexus moved again, to $(field 'v["state"]["target_node"]')"
touch "$OUT/stop-a2"
for _ in $(seq 1 120); do kill -0 "$A2_PID" 2>/dev/null || break; sleep 0.5; done
kill -0 "$A2_PID" 2>/dev/null && fail "writer A did not stop"
wait "$A2_PID" || fail "writer A (region B) failed: $(tail -n 2 "$OUT/writer-a2.log")"
unset 'PIDS[a2]'

# ------------------------------------------------------------------ what the writers were told, and what reads back
count() { awk -v k="$1" -v from="$2" -v to="$3" '$1 == k && $5 >= from && $5 < to' "$OUT/writer-a2.log" | wc -l; }
FAR=99999999999999
a2_before=$(count ack 0 "$CUT_MS")
a2_during=$(count ack "$CUT_MS" "$HEAL_MS")
a2_after_repub=$(count ack "$REPUB_MS" "$FAR")
a2_failed=$(grep -c '^fail ' "$OUT/writer-a2.log" || true)
a2_unanswered=$(grep -c '^unanswered ' "$OUT/writer-a2.log" || true)
say "writer A in region B: $a2_before acknowledged before the cut, $a2_during during it, $a2_failed failed," \
  "$a2_unanswered unanswered, $(count sent 0 "$FAR") sent"
[ "$a2_after_repub" = 0 ] || fail "two writers: node-1's old nexus acknowledged $a2_after_repub write(s) after the" \
  "volume was republished on $T ($(awk -v f="$REPUB_MS" '$1 == "ack" && $5 >= f' "$OUT/writer-a2.log" | head -n 3 | tr '\n' ';'))"
"${PW[@]}" check "$URI2" --region "0:$((24 * MiB))" --reads 3 --log "$OUT/writer-a1.log" --log "$OUT/writer-a2.log" \
  --log "$OUT/writer-c1.log" --log "$OUT/writer-c2.log" >"$OUT/check.log" 2>"$OUT/check.err" || true
sed 's/^/  /' "$OUT/check.log"
grep -q '^check passed$' "$OUT/check.log" || fail "what reads back through $T is not what the writers were told"

# ------------------------------------------------------------------ the old nexus gone, the replicas fenced to the new node
old=$("$P" nexus list --engine "${ENGINE[1]}" -o json | grep -c "\"uuid\": \"$VU\"" || true)
[ "$old" = 0 ] || fail "node-1 still holds a nexus of the volume"
want="nqn.2019-05.io.openebs:node-name:$T"
for i in 1 2 3; do
  got=$("$P" replica list --engine "${ENGINE[$i]}" -o json | python3 -c 'import json,sys
for r in json.load(sys.stdin).get("replicas", []):
    if r.get("entity_id") == sys.argv[1]:
        print("unshared" if r.get("share", "NONE") == "NONE" else ",".join(r.get("allowed_hosts", [])) or "any host")' "$VU")
  if [ "$i" = "$TI" ]; then
    [ "$got" = unshared ] || fail "$T's own replica, claimed by its nexus, is shared to $got"
  else
    [ "$got" = "$want" ] || fail "node-$i's replica admits '$got', not $want alone"
  fi
done
fenced=$(grep -c 'fenced' "$OUT/engine-1.err" "$OUT/engine-1.out" 2>/dev/null | awk -F: '{s += $2} END {print s + 0}')
say "node-1 holds no nexus of the volume; the replicas on the other nodes admit $want alone;" \
  "node-1's log names the fencing $fenced time(s)"
say "PASSED in $((SECONDS - started)) s (writer A: $a2_during write(s) acknowledged during the partition)"
