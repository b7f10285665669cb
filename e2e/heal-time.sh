#!/usr/bin/env bash
# Time to heal, a report: a 1 GiB repl=2 thick volume, published and written whole, then the
# engine holding its replica that is not the nexus's killed with SIGKILL (a third engine has a
# free pool); the control plane (--replica-wait 5s, --node-timeout 3s) replaces the replica there
# and the nexus rebuilds it. Watched every 100 ms through the control plane (e2e/HealWatch.java),
# the phases from the kill: the node Offline, the replacement placed, its rebuild begun and
# done, the volume Online; the engine's rebuild record (start, end, rate) beside them.
# By default the volume is written by `bench --verify` (checksummed, generation-stamped blocks)
# which then reads at QD 1 through the heal and after it, so blocks written before the kill are
# checked when read back from the healed volume, from the new replica among others: a verified
# heal under a light reader. HEAL_VERIFY=0 writes it with a plain sequential write instead and
# heals an idle volume, nothing verified.
#   e2e/heal-time.sh            HEAL_VERIFY=0 e2e/heal-time.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERIFY="${HEAL_VERIFY:-1}"
REPLICA_WAIT="${HEAL_REPLICA_WAIT:-5s}"
NODE_TIMEOUT="${HEAL_NODE_TIMEOUT:-3s}"
# How long the verifying reader reads after its fill: the heal must end within it with time to
# spare, or the new replica is never read (the script says so and fails).
READ_S="${HEAL_READ_S:-120}"
OUT="${E2E_OUT:-$ROOT/target/e2e}/heal-time"
rm -rf "$OUT"; mkdir -p "$OUT"
P="$ROOT/panastor"
[ "$("$P" needs-build)" = no ] || "$P" build >/dev/null
STARTED=$SECONDS
LIB="${PANASTOR_LIB:-$ROOT/dist/target/lib}"
# The launcher exports the JDK it found; run alone, the script looks where the launcher does.
JAVA_HOME="${JAVA_HOME:-$(ls -d /usr/lib/jvm/*-25-* /usr/lib/jvm/*25* 2>/dev/null | head -n 1)}"

NAME="heal-time"
. "$ROOT/e2e/processes.sh"
BENCH_PID=""
now_ms() { date +%s%3N; }

"$P" control-plane --store "file:$OUT/store" --grpc "$CP" --heartbeat-interval 500ms --node-timeout "$NODE_TIMEOUT" \
  --reconcile-period 1s --replica-wait "$REPLICA_WAIT" >"$OUT/cp.out" 2>>"$OUT/cp.err" &
CP_PID=$!
for _ in $(seq 1 200); do grep -q ready "$OUT/cp.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$OUT/cp.out" || fail "the control plane did not start"
declare -A ENGINES
for i in 1 2 3; do
  g=$(free_port)
  ENGINES[$i]="127.0.0.1:$g"
  "$P" engine --cores 1 --node-name "node-$i" --grpc "127.0.0.1:$g" --replica-listen "127.0.0.1:$(free_port)" \
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

"$P" volume create heal --size 1GiB --replicas 2 "${C[@]}" >/dev/null
URI=$("$P" volume publish heal "${C[@]}")
"$P" volume get heal "${C[@]}" -o json >"$OUT/volume.json"
read -r U T R <<<"$(python3 -c 'import json,sys
v=json.load(open(sys.argv[1])); t=v["state"]["target_node"]
print(v["spec"]["uuid"], t, [r["node"] for r in v["state"]["replicas"] if r["node"] != t][0])' "$OUT/volume.json")"
echo "heal-time: volume heal ($U), 1 GiB repl=2: nexus on $T, the other replica on $R"

written() { # bytes the nexus has had written
  "$P" stats --engine "${ENGINES[${T#node-}]}" -o json | python3 -c 'import json,sys
print(sum(int(s["bytes_written"]) for s in json.load(sys.stdin)["stats"] if s["name"] == sys.argv[1]))' "$U"
}
t0=$(now_ms)
if [ "$VERIFY" = 1 ]; then
  "$P" bench --verify --rw randread --bs 4k --qd 1 --ramp 0 --runtime "${READ_S}s" "$URI" \
    >"$OUT/verify.txt" 2>"$OUT/verify.err" &
  BENCH_PID=$!
  EXTRA_PIDS=("$BENCH_PID")
  until [ "$(written)" -ge $((1 << 30)) ]; do
    kill -0 "$BENCH_PID" 2>/dev/null || fail "the verifying bench ended before its fill (see $OUT/verify.err)"
    sleep 1
  done
else
  "$P" bench --rw write --bs 128KiB --qd 8 --ramp 0 --runtime 10m --size 1GiB "$URI" >"$OUT/fill.txt" 2>"$OUT/fill.err" \
    || fail "writing the volume (see $OUT/fill.err)"
fi
fill_ms=$(($(now_ms) - t0))
echo "  written whole in $((fill_ms / 1000)).$(((fill_ms % 1000) / 100)) s (the bench's start and attach included)"

"$JAVA_HOME/bin/java" -cp "$LIB/*" "$ROOT/e2e/HealWatch.java" "$CP" heal "$R" 100 300 >"$OUT/watch.txt" 2>"$OUT/watch.err" &
WATCH_PID=$!
for _ in $(seq 1 300); do [ "$(wc -l <"$OUT/watch.txt")" -ge 2 ] && break; sleep 0.1; done
[ "$(wc -l <"$OUT/watch.txt")" -ge 2 ] || fail "the watcher did not start (see $OUT/watch.err)"
KILLED=$(now_ms)
DEAD=${ENGINE_PIDS[$((${R#node-} - 1))]}
kill -9 "$DEAD"
wait "$DEAD" 2>/dev/null || true     # reaped here, so the shell does not report it
echo "heal-time: $R's engine killed (SIGKILL)"
wait "$WATCH_PID" || fail "the volume was not Online on a replacement within 300 s (see $OUT/watch.txt)"

"$P" rebuild history "$U" --engine "${ENGINES[${T#node-}]}" -o json >"$OUT/rebuild.json"
python3 - "$OUT/watch.txt" "$KILLED" "$R" "$T" "$OUT/rebuild.json" <<'EOF' | tee "$OUT/phases.txt"
import json, sys
from datetime import datetime
watch, killed, dead, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
first = {}
def seen(what, t):
    first.setdefault(what, t)
for line in open(watch):
    t, _, rest = line.strip().partition(" ")
    if rest == "watching" or int(t) < killed:
        continue
    f = dict(kv.split("=", 1) for kv in rest.split())
    t = int(t)
    if "error" in f:
        continue
    reps = [r.rsplit(":", 2) for r in f["replicas"].split(",") if r]
    if any(n == dead and s == "Unknown" for n, s, _ in reps):
        seen("replica seen unreachable (Unknown)", t)
    if f["volume"] == "VOLUME_DEGRADED":
        seen("volume Degraded", t)
    if f["node"] == "NODE_OFFLINE":
        seen("node Offline", t)
    new = [(n, s, p) for n, s, p in reps if n not in (dead, target)]
    if new:
        seen("replacement placed (" + new[0][0] + ")", t)
        if int(new[0][2]) >= 0:
            seen("rebuild seen under way", t)
    if f["volume"] == "VOLUME_ONLINE" and not any(n == dead for n, _, _ in reps):
        seen("volume Online", t)
print(f"  {'PHASE':40} {'S_FROM_KILL':>11}")
for what, t in sorted(first.items(), key=lambda e: e[1]):
    print(f"  {what:40} {(t - killed) / 1000:11.1f}")
def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
for h in json.load(open(sys.argv[5])).get("histories", []):
    for r in h["records"]:
        if "start_time" in r and r.get("end_time"):
            mb = int(r.get("bytes_per_second", 0)) / (1 << 20)
            print(f"  rebuild of {r['child_uri'].split('?')[0]}: {'partial' if r.get('is_partial') else 'full'},"
                  f" {r['state']}, {int(r['blocks_total']) * int(r['block_size']) >> 20} MiB,"
                  f" from {ts(r['start_time']) - killed / 1000:.1f} s to {ts(r['end_time']) - killed / 1000:.1f} s"
                  f" after the kill ({ts(r['end_time']) - ts(r['start_time']):.1f} s, {mb:.0f} MiB/s)")
EOF
grep -q "volume Online" "$OUT/phases.txt" || fail "no Online seen in $OUT/watch.txt"

if [ "$VERIFY" = 1 ]; then
  after=$(( READ_S - ($(sed -n 's/^\([0-9]*\) .*VOLUME_ONLINE.*/\1/p' "$OUT/watch.txt" | tail -n1) - t0 - fill_ms) / 1000 ))
  echo "heal-time: the verifying reader reads on, about $after s of it after the volume is Online again"
  [ "$after" -ge 10 ] || fail "the heal left the reader less than 10 s to read the healed volume: give HEAL_READ_S more"
  rc=0; wait "$BENCH_PID" || rc=$?; BENCH_PID=""; EXTRA_PIDS=()
  grep -E "reads verified|FAILED" "$OUT/verify.txt" | sed 's/^/  /' || true
  [ "$rc" = 0 ] || fail "the verifying bench exited $rc (see $OUT/verify.txt, $OUT/verify.err)"
  echo "  every read verified, before, during and after the heal"
fi
echo "heal-time: done in $((SECONDS - STARTED)) s"
