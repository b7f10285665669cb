#!/usr/bin/env bash
# End-to-end tests through the Linux kernel's NVMe/TCP initiator: for each case, start
# `panastor serve` (or `panastor engine` with a bdev shared by `panastor bdev share`), run a
# guest script in the kernel-initiator QEMU guest against it, and stop the target with SIGTERM
# (it must exit 0); and a thin replica in a pool, made and shared by the CLI, with XFS on it
# and fstrim giving its space back; a repl=2 nexus made by the CLI, verified by fio across a
# child's fault and resized under the kernel; and a repl=2 nexus whose remote child is faulted,
# re-added and rebuilt in full, then taken offline and back (a partial rebuild), all under fio
# verify, and then read from the rebuilt child alone; and a repl=2 volume of the control plane
# over two engines, verified, grown under the guest, its replica refusing the guest. Prints
# 'N passed, N failed'.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOL="${KERNEL_INITIATOR:-$ROOT/../shared/tools/kernel-initiator/run.sh}"
OUT="${E2E_OUT:-$ROOT/target/e2e}"
export NVMF_KC_CACHE="${NVMF_KC_CACHE:-$HOME/.cache/kernel-initiator}"

if [ ! -x "$TOOL" ]; then
  echo "e2e: SKIPPED: the kernel initiator tool ($TOOL) is not there"
  exit 0
fi
mkdir -p "$OUT"
echo "e2e: building panastor..." >&2
"$ROOT/panastor" build >/dev/null
if [ ! -d "$NVMF_KC_CACHE" ] || [ -z "$(ls -A "$NVMF_KC_CACHE" 2>/dev/null)" ]; then
  echo "e2e: the first case downloads the guest's kernel and image into $NVMF_KC_CACHE (once; a few minutes)" >&2
fi

passed=0 failed=0
run_case() { # name port uri [capture] env...
  local name=$1 port=$2 uri=$3; shift 3
  local capture=0
  if [ "${1:-}" = capture ]; then capture=1; shift; fi
  local nqn="nqn.2026-11.io.panastor:e2e-$name"
  local log="$OUT/$name-target.log"
  "$ROOT/panastor" serve "$uri" --listen "127.0.0.1:$port" --nqn "$nqn" >"$log" 2>&1 &
  local pid=$!
  local i
  for i in $(seq 1 100); do grep -q "^nvmf://" "$log" 2>/dev/null && break; sleep 0.2; done
  if ! grep -q "^nvmf://" "$log"; then
    echo "e2e $name: FAILED: the target did not start"; cat "$log"; kill "$pid" 2>/dev/null
    failed=$((failed + 1)); return
  fi
  local cap_pid=""
  if [ "$capture" = 1 ]; then
    dumpcap -q -i lo -f "tcp port $port" -w "$OUT/$name.pcapng" >"$OUT/$name-dumpcap.log" 2>&1 &
    cap_pid=$!
    sleep 1
  fi
  local rc=0
  echo "e2e $name: booting the guest and running e2e/guest-nvmf.sh against $uri (log: $OUT/$name.log)..." >&2
  "$TOOL" --port "$port" --nqn "$nqn" --script "$ROOT/e2e/guest-nvmf.sh" --out "$OUT/$name" "$@" \
    >"$OUT/$name.log" 2>&1 || rc=$?
  kill -TERM "$pid"
  local trc=0
  wait "$pid" || trc=$?
  if [ -n "$cap_pid" ]; then
    sleep 1; kill -INT "$cap_pid"; wait "$cap_pid" 2>/dev/null
    local pdus bad
    local ts=(tshark -r "$OUT/$name.pcapng" -d "tcp.port==$port,nvme-tcp"
              -o nvme-tcp.check_hdgst:TRUE -o nvme-tcp.check_ddgst:TRUE)
    pdus=$("${ts[@]}" -Y nvme-tcp 2>/dev/null | wc -l)
    bad=$("${ts[@]}" -Y "_ws.malformed || _ws.expert.severity >= error || nvme-tcp.hdgst.status == 0 || nvme-tcp.ddgst.status == 0" 2>/dev/null | tee "$OUT/$name-malformed.txt" | wc -l)
    echo "e2e $name: tshark decoded $pdus NVMe/TCP packets, $bad malformed or in error"
    if [ "$pdus" -eq 0 ] || [ "$bad" -ne 0 ]; then rc=1; head -20 "$OUT/$name-malformed.txt"; fi
  fi
  if [ "$rc" -eq 0 ] && [ "$trc" -eq 0 ]; then
    echo "e2e $name: passed ($(grep -c "fio verify .*: ok" "$OUT/$name/script-output.txt" 2>/dev/null) fio verify runs)"
    grep -h "nvme nvme.*new ctrl" "$OUT/$name/dmesg.txt" 2>/dev/null | sed 's/^/    guest kernel: /' | tail -1
    passed=$((passed + 1))
  else
    echo "e2e $name: FAILED (guest rc=$rc, target exit=$trc); logs in $OUT/$name"
    tail -30 "$OUT/$name/script-output.txt" 2>/dev/null || tail -30 "$OUT/$name.log"
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

# The io-engine daemon: a bdev made and shared through the CLI (`bdev create`, `bdev share`),
# the harness's standard test against its share URI, its IO counted by `stats`, and SIGTERM.
run_engine_case() { # name grpc-port replica-port
  local name=$1 grpc=$2 port=$3
  local engine="127.0.0.1:$grpc" log="$OUT/$name-engine.log"
  local P="$ROOT/panastor"
  rm -rf "$OUT/$name-state"
  "$P" engine --grpc "$engine" --replica-listen "127.0.0.1:$port" --nexus-listen "127.0.0.1:$((port + 1))" \
    --metrics off --state-dir "$OUT/$name-state" >"$OUT/$name-engine.out" 2>"$log" &
  local pid=$! i
  for i in $(seq 1 100); do grep -q "ready" "$OUT/$name-engine.out" 2>/dev/null && break; sleep 0.2; done
  local uri=""
  if grep -q ready "$OUT/$name-engine.out" \
     && "$P" bdev create 'malloc:///m0?size=256MiB&blk_size=4096' --engine "$engine" >/dev/null; then
    uri=$("$P" bdev share m0 --engine "$engine")
  fi
  case "$uri" in
    nvmf://127.0.0.1:"$port"/*) ;;
    *) echo "e2e $name: FAILED: the engine did not start or share (got '$uri')"; tail -20 "$log"
       kill "$pid" 2>/dev/null; failed=$((failed + 1)); return ;;
  esac
  local nqn="${uri##*/}" rc=0
  echo "e2e $name: $uri: booting the guest for the standard test..." >&2
  "$TOOL" --standard-test --port "$port" --nqn "$nqn" --env NVMF_SKIP_PERF=1 --out "$OUT/$name" \
    >"$OUT/$name.log" 2>&1 || rc=$?
  local writes
  writes=$("$P" stats m0 -o json --engine "$engine" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"][0]["num_write_ops"])')
  kill -TERM "$pid"
  local trc=0
  wait "$pid" || trc=$?
  if [ "$rc" -eq 0 ] && [ "$trc" -eq 0 ] && [ "${writes:-0}" -gt 0 ]; then
    echo "e2e $name: passed (the standard test through bdev share; the engine counted $writes writes)"
    passed=$((passed + 1))
  else
    echo "e2e $name: FAILED (guest rc=$rc, engine exit=$trc, writes counted ${writes:-none}); logs in $OUT/$name"
    tail -30 "$OUT/$name/script-output.txt" 2>/dev/null || tail -30 "$OUT/$name.log"
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

# Pools and thin replicas: `pool create` on a file, a thin replica shared by `replica create
# --share`; in one guest session the kernel connects, makes XFS, writes files and checks them
# after a remount; the files are removed and `fstrim` run, and the pool's used space (from
# `pool list`) must drop back: unmap gives a thin replica's clusters back to the pool.
run_pool_case() { # name grpc-port replica-port
  local name=$1 grpc=$2 port=$3
  local engine="127.0.0.1:$grpc" log="$OUT/$name-engine.log" P="$ROOT/panastor"
  rm -rf "$OUT/$name-state" "$OUT/$name"
  mkdir -p "$OUT/$name"
  truncate -s 512M "$OUT/$name-disk.img"
  "$P" engine --grpc "$engine" --replica-listen "127.0.0.1:$port" --nexus-listen "127.0.0.1:$((port + 1))" \
    --metrics off --state-dir "$OUT/$name-state" >"$OUT/$name-engine.out" 2>"$log" &
  local pid=$! i uri="" rc=0 why=""
  for i in $(seq 1 100); do grep -q "ready" "$OUT/$name-engine.out" 2>/dev/null && break; sleep 0.2; done
  used() { "$P" pool list p0 -o json --engine "$engine" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pools"][0]["used"])'; }
  if grep -q ready "$OUT/$name-engine.out" \
     && "$P" pool create p0 "uring://$OUT/$name-disk.img?blk_size=4096" --engine "$engine" >/dev/null \
     && "$P" replica create vol0 --pool p0 --size 384MiB --thin --engine "$engine" >/dev/null; then
    uri=$("$P" replica share vol0 --engine "$engine")
  fi
  case "$uri" in
    nvmf://127.0.0.1:"$port"/nqn.2019-05.io.openebs:*) ;;
    *) echo "e2e $name: FAILED: the engine did not start, make the pool or share the replica (got '$uri')"
       tail -20 "$log"; kill "$pid" 2>/dev/null; failed=$((failed + 1)); return ;;
  esac
  local nqn="${uri##*/}" session sid
  echo "e2e $name: $uri: a guest session makes XFS on the thin replica, writes, trims..." >&2
  session=$("$TOOL" --session-start 2>"$OUT/$name/session.err") || rc=$?
  sid=$(echo "$session" | awk '/^SESSION/ {print $2}')
  gx() { "$TOOL" --session-exec "$sid" --timeout 300 -- "$@" >>"$OUT/$name/script-output.txt" 2>&1; }
  local u0="" u1="" u2="" u3=""
  if [ -z "$sid" ]; then rc=126; why="the guest session did not start"; fi
  [ "$rc" -eq 0 ] && { gx "nvme connect -t tcp -a \$NVMF_TARGET_ADDR -s $port -n $nqn" || { rc=$?; why="connect"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(nvmf_wait_ns $nqn) && echo \$dev > /tmp/dev && mkfs.xfs -f -q \$dev && mkdir -p /mnt/v && mount \$dev /mnt/v" \
    || { rc=$?; why="mkfs/mount"; }; }
  [ "$rc" -eq 0 ] && u0=$(used)
  [ "$rc" -eq 0 ] && { gx 'for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=/mnt/v/f$i bs=1M count=16 conv=fsync 2>/dev/null || exit 1; done; cd /mnt/v && md5sum f* > /tmp/sums && cat /tmp/sums' \
    || { rc=$?; why="write files"; }; }
  [ "$rc" -eq 0 ] && { gx 'umount /mnt/v && mount $(cat /tmp/dev) /mnt/v && cd /mnt/v && md5sum -c /tmp/sums' \
    || { rc=$?; why="files differ after a remount"; }; }
  [ "$rc" -eq 0 ] && u1=$(used)
  [ "$rc" -eq 0 ] && { gx 'rm /mnt/v/f* && sync && fstrim -v /mnt/v' || { rc=$?; why="rm/fstrim"; }; }
  [ "$rc" -eq 0 ] && u2=$(used)
  [ "$rc" -eq 0 ] && { gx "umount /mnt/v && nvme disconnect -n $nqn" || { rc=$?; why="umount/disconnect"; }; }
  [ -n "$sid" ] && "$TOOL" --session-stop "$sid" --out "$OUT/$name" >/dev/null 2>&1
  local MiB=1048576
  if [ "$rc" -eq 0 ]; then
    echo "e2e $name: pool used after mkfs $((u0 / MiB)) MiB, after 96 MiB of files $((u1 / MiB)) MiB, after rm + fstrim $((u2 / MiB)) MiB"
    if [ "$u1" -lt $((u0 + 80 * MiB)) ]; then rc=1; why="writing 96 MiB did not allocate it"; fi
    if [ "$u2" -gt $((u0 + 16 * MiB)) ]; then rc=1; why="fstrim did not give the clusters back"; fi
  fi
  kill -TERM "$pid"
  local trc=0
  wait "$pid" || trc=$?
  rm -f "$OUT/$name-disk.img"
  if [ "$rc" -eq 0 ] && [ "$trc" -eq 0 ]; then
    echo "e2e $name: passed (XFS on a shared thin replica: files verified after a remount; fstrim freed $(((u1 - u2) / MiB)) MiB of the pool)"
    passed=$((passed + 1))
  else
    echo "e2e $name: FAILED (${why:-engine exit $trc}; rc=$rc, engine exit=$trc); logs in $OUT/$name"
    tail -30 "$OUT/$name/script-output.txt" 2>/dev/null
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

# A repl=2 nexus, made and published through the CLI over a replica in each of two pools: the
# kernel writes and verifies with fio; one child is faulted while fio verifies, and data written
# before the fault is verified after it; both replicas grow and `nexus resize` grows the nexus,
# which the kernel sees (namespace-attribute-changed notice) as the device's new size.
# The nexus cases' helpers; they read the calling case's $P, $engine and $name (bash's dynamic scope).
cli() { "$P" "$@" --engine "$engine" >>"$OUT/$name/cli.txt" 2>&1; }
# The children's states, in order, from `nexus list -o json`, e.g. "CHILD_STATE_ONLINE CHILD_STATE_FAULTED".
states() { "$P" nexus list vol0 -o json --engine "$engine" | python3 -c '
import json, sys
r = json.load(sys.stdin)
ns = next(v for v in r.values() if isinstance(v, list))
print(" ".join(c["state"] for c in ns[0]["children"]))'; }
# Starts the calling case's engine on fresh scratch disks a and b (its $name, $engine, $port,
# $nport, $log, $P) and waits until it is ready; sets the caller's $pid and new UUIDs $ua $ub $nu.
start_nexus_engine() {
  rm -rf "$OUT/$name-state" "$OUT/$name"
  mkdir -p "$OUT/$name"
  truncate -s 512M "$OUT/$name-a.img" "$OUT/$name-b.img"
  "$P" engine --grpc "$engine" --replica-listen "127.0.0.1:$port" --nexus-listen "127.0.0.1:$nport" \
    --metrics off --state-dir "$OUT/$name-state" >"$OUT/$name-engine.out" 2>"$log" &
  pid=$!
  ua=$(cat /proc/sys/kernel/random/uuid); ub=$(cat /proc/sys/kernel/random/uuid); nu=$(cat /proc/sys/kernel/random/uuid)
  local i
  for i in $(seq 1 100); do grep -q "ready" "$OUT/$name-engine.out" 2>/dev/null && break; sleep 0.2; done
}
# Whether the calling case's nexus is published as $uri should be ($nport, $nqn); if not, the case failed.
published() {
  case "$uri" in
    nvmf://127.0.0.1:"$nport/$nqn") return 0 ;;
  esac
  echo "e2e $name: FAILED: the engine did not start, make the pools, replicas or nexus, or publish it (got '$uri')"
  tail -20 "$OUT/$name/cli.txt"; tail -20 "$log"; kill "$pid" 2>/dev/null; failed=$((failed + 1))
  return 1
}
# Stops the case's engine (it must exit 0), removes its disks and counts the case: rc why pid log summary.
end_nexus_case() {
  local rc=$1 why=$2 pid=$3 log=$4 summary=$5 trc=0
  kill -TERM "$pid"
  wait "$pid" || trc=$?
  rm -f "$OUT/$name-a.img" "$OUT/$name-b.img"
  if [ "$rc" -eq 0 ] && [ "$trc" -eq 0 ]; then
    echo "e2e $name: passed (repl=2 nexus: $summary)"
    passed=$((passed + 1))
  else
    echo "e2e $name: FAILED (${why:-engine exit $trc}; rc=$rc, engine exit=$trc); logs in $OUT/$name"
    tail -30 "$OUT/$name/script-output.txt" 2>/dev/null
    tail -10 "$OUT/$name/cli.txt" 2>/dev/null
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

run_nexus_case() { # name grpc-port replica-port (the nexus listens on replica-port + 1)
  local name=$1 grpc=$2 port=$3 nport=$(($3 + 1))
  local engine="127.0.0.1:$grpc" log="$OUT/$name-engine.log" P="$ROOT/panastor"
  local MiB=1048576 size=256 grown=384
  local pid ua ub nu uri="" rc=0 why=""
  start_nexus_engine
  local ca="bdev:///$ua" cb="bdev:///$ub"
  if grep -q ready "$OUT/$name-engine.out" \
     && cli pool create pa "uring://$OUT/$name-a.img?blk_size=4096" \
     && cli pool create pb "uring://$OUT/$name-b.img?blk_size=4096" \
     && cli replica create ra --pool pa --size ${size}MiB --uuid "$ua" \
     && cli replica create rb --pool pb --size ${size}MiB --uuid "$ub" \
     && cli nexus create vol0 --size ${size}MiB --uuid "$nu" "$ca" "$cb"; then
    uri=$("$P" nexus publish vol0 --engine "$engine" 2>>"$OUT/$name/cli.txt")
  fi
  local nqn="nqn.2019-05.io.openebs:$nu"
  published || return
  local session sid s0="" s1=""
  echo "e2e $name: $uri: a guest session verifies with fio, faults a child under fio, resizes..." >&2
  session=$("$TOOL" --session-start 2>"$OUT/$name/session.err") || rc=$?
  sid=$(echo "$session" | awk '/^SESSION/ {print $2}')
  gx() { "$TOOL" --session-exec "$sid" --timeout 600 -- "$@" >>"$OUT/$name/script-output.txt" 2>&1; }
  # fio's verify: crc32c in every block, checked on read back; a bad block fails fio (exit non-zero).
  local fv="fio --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1"
  if [ -z "$sid" ]; then rc=126; why="the guest session did not start"; fi
  [ "$rc" -eq 0 ] && { gx "nvme connect -t tcp -a \$NVMF_TARGET_ADDR -s $nport -n $nqn" || { rc=$?; why="connect"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(nvmf_wait_ns $nqn) && echo \$dev > /tmp/dev && echo device \$dev \$(blockdev --getsize64 \$dev)" \
    || { rc=$?; why="no namespace"; }; }
  [ "$rc" -eq 0 ] && { gx "$fv --name=both --filename=\$(cat /tmp/dev) --offset=0 --size=32M --do_verify=1 && echo 'fio verify both children: ok'" \
    || { rc=$?; why="fio verify on two children"; }; }
  # Written with verify headers while both children are up, verified (below) after the fault.
  [ "$rc" -eq 0 ] && { gx "$fv --name=before --filename=\$(cat /tmp/dev) --offset=64M --size=16M --do_verify=0 && echo 'written before the fault: ok'" \
    || { rc=$?; why="fio write before the fault"; }; }
  [ "$rc" -eq 0 ] && { gx "setsid sh -c '$fv --name=during --filename=\$(cat /tmp/dev) --offset=128M --size=32M --do_verify=1 >/tmp/during.log 2>&1; echo \$? >/tmp/during.rc' </dev/null >/dev/null 2>&1 & sleep 1; echo fio started" \
    || { rc=$?; why="fio in the background"; }; }
  [ "$rc" -eq 0 ] && { sleep 5; s0=$(states); cli nexus fault-child vol0 "$ca" || { rc=1; why="fault-child"; }; s1=$(states); }
  [ "$rc" -eq 0 ] && { gx 'i=0; while [ ! -f /tmp/during.rc ] && [ $i -lt 500 ]; do sleep 1; i=$((i+1)); done; cat /tmp/during.log; r=$(cat /tmp/during.rc 2>/dev/null || echo timeout); echo "fio during the fault: rc=$r"; [ "$r" = 0 ] && echo "fio verify during the fault: ok"; [ "$r" = 0 ]' \
    || { rc=$?; why="fio verify while a child was faulted"; }; }
  [ "$rc" -eq 0 ] && { gx "$fv --name=before --filename=\$(cat /tmp/dev) --offset=64M --size=16M --verify_only && echo 'fio verify after the fault of what was written before: ok'" \
    || { rc=$?; why="fio verify_only after the fault"; }; }
  [ "$rc" -eq 0 ] && { cli replica resize ra ${grown}MiB && cli replica resize rb ${grown}MiB && cli nexus resize vol0 ${grown}MiB \
    || { rc=1; why="replica or nexus resize"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(cat /tmp/dev); i=0; while [ \$(blockdev --getsize64 \$dev) -ne $((grown * MiB)) ] && [ \$i -lt 30 ]; do sleep 1; i=\$((i+1)); done; echo size after resize \$(blockdev --getsize64 \$dev) after \${i} s; [ \$(blockdev --getsize64 \$dev) -eq $((grown * MiB)) ]" \
    || { rc=$?; why="the guest did not see the new size"; }; }
  [ "$rc" -eq 0 ] && { gx "nvme disconnect -n $nqn" || { rc=$?; why="disconnect"; }; }
  [ -n "$sid" ] && "$TOOL" --session-stop "$sid" --out "$OUT/$name" >/dev/null 2>&1
  if [ "$rc" -eq 0 ]; then
    echo "e2e $name: children before the fault: $s0; after: $s1"
    case "$s0 / $s1" in
      "CHILD_STATE_ONLINE CHILD_STATE_ONLINE / CHILD_STATE_FAULTED CHILD_STATE_ONLINE") ;;
      *) rc=1; why="the children's states were not online, online then faulted, online" ;;
    esac
  fi
  end_nexus_case "$rc" "$why" "$pid" "$log" \
    "$(grep -c "fio verify .*: ok" "$OUT/$name/script-output.txt") fio verify runs clean, one of them across a child's fault; resized to $grown MiB in the guest"
}

run_rebuild_case() { # name grpc-port replica-port (the nexus listens on replica-port + 1)
  local name=$1 grpc=$2 port=$3 nport=$(($3 + 1))
  local engine="127.0.0.1:$grpc" log="$OUT/$name-engine.log" P="$ROOT/panastor"
  local size=256
  local pid ua ub nu uri="" rc=0 why=""
  start_nexus_engine
  # a: a local replica; b: a replica shared over NVMe/TCP, reached through the engine's own initiator.
  local ca="bdev:///$ua" cb="nvmf://127.0.0.1:$port/nqn.2019-05.io.openebs:$ub"
  # Waits (up to 5 minutes) until both children are online again: the rebuild is done.
  both_online() { local j; for j in $(seq 1 1500); do [ "$(states)" = "CHILD_STATE_ONLINE CHILD_STATE_ONLINE" ] && return 0; sleep 0.2; done; return 1; }
  # The kinds of the finished rebuilds of child $1, oldest first, e.g. "full:completed partial:completed".
  history() { "$P" rebuild history vol0 -o json --engine "$engine" | python3 -c '
import json, sys
uri = sys.argv[1]
r = json.load(sys.stdin)
out = []
for h in r.get("histories", []):
    for x in h.get("records", []):
        if x["child_uri"] == uri:
            out.append(("partial" if x["is_partial"] else "full") + ":" + x["state"].lower())
print(" ".join(out))' "$1"; }
  if grep -q ready "$OUT/$name-engine.out" \
     && cli pool create pa "uring://$OUT/$name-a.img?blk_size=4096" \
     && cli pool create pb "uring://$OUT/$name-b.img?blk_size=4096" \
     && cli replica create ra --pool pa --size ${size}MiB --uuid "$ua" \
     && cli replica create rb --pool pb --size ${size}MiB --uuid "$ub" --share \
     && cli nexus create vol0 --size ${size}MiB --uuid "$nu" "$ca" "$cb"; then
    uri=$("$P" nexus publish vol0 --engine "$engine" 2>>"$OUT/$name/cli.txt")
  fi
  local nqn="nqn.2019-05.io.openebs:$nu"
  published || return
  local session sid hb="" ha=""
  echo "e2e $name: $uri: fio verify across a child's fault, re-add and full rebuild, and its offline/online partial rebuild..." >&2
  session=$("$TOOL" --session-start 2>"$OUT/$name/session.err") || rc=$?
  sid=$(echo "$session" | awk '/^SESSION/ {print $2}')
  gx() { "$TOOL" --session-exec "$sid" --timeout 600 -- "$@" >>"$OUT/$name/script-output.txt" 2>&1; }
  local fv="fio --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1"
  # fio in the background in the guest: job $1 at offset $2; its exit status goes to /tmp/$1.rc.
  bg() { gx "setsid sh -c '$fv --name=$1 --filename=\$(cat /tmp/dev) --offset=$2 --size=40M --do_verify=1 >/tmp/$1.log 2>&1; echo \$? >/tmp/$1.rc' </dev/null >/dev/null 2>&1 & sleep 1; echo fio $1 started"; }
  waitbg() { gx "i=0; while [ ! -f /tmp/$1.rc ] && [ \$i -lt 500 ]; do sleep 1; i=\$((i+1)); done; cat /tmp/$1.log; r=\$(cat /tmp/$1.rc 2>/dev/null || echo timeout); echo \"fio $1: rc=\$r\"; [ \"\$r\" = 0 ] && echo 'fio verify $1: ok'; [ \"\$r\" = 0 ]"; }
  verify_only() { gx "$fv --name=$1 --filename=\$(cat /tmp/dev) --offset=$2 --size=$3 --verify_only && echo 'fio verify $1 from one child: ok'"; }
  if [ -z "$sid" ]; then rc=126; why="the guest session did not start"; fi
  [ "$rc" -eq 0 ] && { gx "nvme connect -t tcp -a \$NVMF_TARGET_ADDR -s $nport -n $nqn" || { rc=$?; why="connect"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(nvmf_wait_ns $nqn) && echo \$dev > /tmp/dev && echo device \$dev" || { rc=$?; why="no namespace"; }; }
  [ "$rc" -eq 0 ] && { gx "$fv --name=first --filename=\$(cat /tmp/dev) --offset=0 --size=32M --do_verify=1 && echo 'fio verify first: ok'" \
    || { rc=$?; why="fio verify on two children"; }; }
  # 1. b faulted, removed and added again under fio: a full rebuild while fio writes.
  [ "$rc" -eq 0 ] && { bg full 64M || { rc=$?; why="fio in the background"; }; }
  [ "$rc" -eq 0 ] && { sleep 3; cli nexus fault-child vol0 "$cb" && cli nexus remove-child vol0 "$cb" && cli nexus add-child vol0 "$cb" \
    || { rc=1; why="fault, remove and add the child"; }; }
  [ "$rc" -eq 0 ] && { both_online || { rc=1; why="the full rebuild did not complete"; }; }
  [ "$rc" -eq 0 ] && { waitbg full || { rc=$?; why="fio verify across the full rebuild"; }; }
  # 2. b offline under fio, then back: a partial rebuild of what it missed.
  [ "$rc" -eq 0 ] && { bg partial 128M || { rc=$?; why="fio in the background"; }; }
  [ "$rc" -eq 0 ] && { sleep 2; cli nexus offline-child vol0 "$cb" && sleep 5 && cli nexus online-child vol0 "$cb" \
    || { rc=1; why="offline and online the child"; }; }
  [ "$rc" -eq 0 ] && { both_online || { rc=1; why="the partial rebuild did not complete"; }; }
  [ "$rc" -eq 0 ] && { waitbg partial || { rc=$?; why="fio verify across the partial rebuild"; }; }
  # 3. a offline: every region read back from the rebuilt b alone; then a back (partial).
  [ "$rc" -eq 0 ] && { cli nexus offline-child vol0 "$ca" || { rc=1; why="offline a"; }; }
  [ "$rc" -eq 0 ] && { verify_only first 0 32M && verify_only full 64M 40M && verify_only partial 128M 40M \
    || { rc=$?; why="fio verify from the rebuilt child alone"; }; }
  [ "$rc" -eq 0 ] && { cli nexus online-child vol0 "$ca" && both_online || { rc=1; why="a back online"; }; }
  [ "$rc" -eq 0 ] && { gx "nvme disconnect -n $nqn" || { rc=$?; why="disconnect"; }; }
  [ -n "$sid" ] && "$TOOL" --session-stop "$sid" --out "$OUT/$name" >/dev/null 2>&1
  if [ "$rc" -eq 0 ]; then
    hb=$(history "$cb"); ha=$(history "$ca")
    echo "e2e $name: rebuilds of b: $hb; of a: $ha"
    case "$hb / $ha" in
      "full:completed partial:completed / partial:completed") ;;
      *) rc=1; why="the rebuilds were not full then partial for b and partial for a" ;;
    esac
  fi
  end_nexus_case "$rc" "$why" "$pid" "$log" \
    "$(grep -c "fio verify .*: ok" "$OUT/$name/script-output.txt") fio verify runs clean across a full and a partial rebuild, three of them from the rebuilt child alone"
}

# A repl=2 volume made and published by the control plane over two engines (its remote replica
# shared to the nexus node's host NQN alone): the guest writes and verifies it with fio, sees it
# grow when the control plane resizes it, and cannot connect to the replica behind the nexus.
run_control_plane_case() { # name control-plane-port base-port (engines at base.., listeners at base+10..)
  local name=$1 cpp=$2 base=$3
  local cp="127.0.0.1:$cpp" log="$OUT/$name-cp.log" P="$ROOT/panastor"
  local MiB=1048576 size=256 grown=384 rc=0 why="" uri="" nqn="" nport=$((base + 11)) rport=$((base + 22))
  local pids=() i sid session
  rm -rf "$OUT/$name" "$OUT/$name-store" "$OUT/$name"-state-*
  mkdir -p "$OUT/$name"
  ccli() { "$P" "$@" --control-plane "$cp" >>"$OUT/$name/cli.txt" 2>&1; }
  "$P" control-plane --store "file:$OUT/$name-store" --grpc "$cp" --heartbeat-interval 500ms \
    >"$OUT/$name-cp.out" 2>"$log" &
  local cpid=$!
  for i in 1 2; do
    truncate -s 512M "$OUT/$name-$i.img"
    "$P" engine --node-name "node-$i" --grpc "127.0.0.1:$((base + i))" --replica-listen "127.0.0.1:$((base + 20 + i))" \
      --nexus-listen "127.0.0.1:$((base + 10 + i))" --metrics off --state-dir "$OUT/$name-state-$i" \
      --control-plane "$cp" >"$OUT/$name-engine-$i.out" 2>"$OUT/$name-engine-$i.log" &
    pids+=($!)
  done
  for i in $(seq 1 150); do
    [ "$("$P" node list --control-plane "$cp" 2>/dev/null | grep -c ' Online ')" = 2 ] && break; sleep 0.2
  done
  if ccli diskpool create pool-1 --node node-1 "uring://$OUT/$name-1.img?blk_size=4096" \
     && ccli diskpool create pool-2 --node node-2 "uring://$OUT/$name-2.img?blk_size=4096" \
     && ccli volume create vol --size ${size}MiB --replicas 2; then
    uri=$("$P" volume publish vol --node node-1 --control-plane "$cp" 2>>"$OUT/$name/cli.txt")
  fi
  nqn=${uri##*/}
  local remote
  remote=$("$P" volume get vol -o json --control-plane "$cp" 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(next(r["uuid"] for r in v["state"]["replicas"] if r["node"] == "node-2"))' 2>/dev/null)
  case "$uri" in
    nvmf://127.0.0.1:"$nport"/nqn.2019-05.io.openebs:*) ;;
    *) rc=1; why="the control plane did not make and publish the volume (got '$uri')" ;;
  esac
  [ "$rc" -eq 0 ] && echo "e2e $name: $uri: the guest verifies it with fio, sees it grow, is refused by its replica..." >&2
  if [ "$rc" -eq 0 ]; then
    session=$("$TOOL" --session-start 2>"$OUT/$name/session.err") || rc=$?
    sid=$(echo "$session" | awk '/^SESSION/ {print $2}')
    [ -z "$sid" ] && { rc=126; why="the guest session did not start"; }
  fi
  gx() { "$TOOL" --session-exec "$sid" --timeout 600 -- "$@" >>"$OUT/$name/script-output.txt" 2>&1; }
  local fv="fio --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1"
  [ "$rc" -eq 0 ] && { gx "nvme connect -t tcp -a \$NVMF_TARGET_ADDR -s $nport -n $nqn" || { rc=$?; why="connect"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(nvmf_wait_ns $nqn) && echo \$dev > /tmp/dev && echo device \$dev" || { rc=$?; why="no namespace"; }; }
  [ "$rc" -eq 0 ] && { gx "$fv --name=first --filename=\$(cat /tmp/dev) --offset=0 --size=64M --do_verify=1 && echo 'fio verify: ok'" \
    || { rc=$?; why="fio verify"; }; }
  [ "$rc" -eq 0 ] && { ccli volume resize vol ${grown}MiB || { rc=1; why="volume resize"; }; }
  [ "$rc" -eq 0 ] && { gx "dev=\$(cat /tmp/dev); i=0; while [ \$(blockdev --getsize64 \$dev) -ne $((grown * MiB)) ] && [ \$i -lt 30 ]; do sleep 1; i=\$((i+1)); done; echo size after resize \$(blockdev --getsize64 \$dev); [ \$(blockdev --getsize64 \$dev) -eq $((grown * MiB)) ]" \
    || { rc=$?; why="the guest did not see the new size"; }; }
  [ "$rc" -eq 0 ] && { gx "$fv --name=grown --filename=\$(cat /tmp/dev) --offset=$(((grown - 64) * MiB)) --size=64M --do_verify=1 && echo 'fio verify past the old end: ok'" \
    || { rc=$?; why="fio verify past the old end"; }; }
  # The replica behind the nexus admits the nexus node's host NQN alone: the guest is refused.
  [ "$rc" -eq 0 ] && { gx "if nvme connect -t tcp -a \$NVMF_TARGET_ADDR -s $rport -n nqn.2019-05.io.openebs:$remote 2>&1; then echo 'the replica let the guest in'; exit 1; else echo 'refused by the replica: ok'; fi" \
    || { rc=$?; why="the replica behind the nexus accepted the guest"; }; }
  [ "$rc" -eq 0 ] && { gx "nvme disconnect -n $nqn" || { rc=$?; why="disconnect"; }; }
  [ -n "${sid:-}" ] && "$TOOL" --session-stop "$sid" --out "$OUT/$name" >/dev/null 2>&1
  [ "$rc" -eq 0 ] && { ccli volume destroy vol || { rc=1; why="volume destroy"; }; }
  if [ "$rc" -eq 0 ]; then
    for i in 1 2; do
      [ "$("$P" replica list --engine "127.0.0.1:$((base + i))" | tail -n +2 | wc -l)" = 0 ] || { rc=1; why="node-$i kept a replica"; }
    done
  fi
  local trc=0 p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" || trc=$?; done
  kill -TERM "$cpid" 2>/dev/null; wait "$cpid" || trc=$?
  rm -f "$OUT/$name"-*.img
  if [ "$rc" -eq 0 ] && [ "$trc" -eq 0 ]; then
    echo "e2e $name: passed (a control-plane volume over two engines: $(grep -c ": ok" "$OUT/$name/script-output.txt") checks ok, fio verify before and after a resize to $grown MiB, the replica refusing the guest)"
    passed=$((passed + 1))
  else
    echo "e2e $name: FAILED (${why:-exit $trc}; rc=$rc, exit=$trc); logs in $OUT/$name"
    tail -30 "$OUT/$name/script-output.txt" 2>/dev/null
    tail -10 "$OUT/$name/cli.txt" 2>/dev/null
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

run_engine_case engine-share 10135 4440
run_pool_case pool-thin-trim 10136 4442
run_nexus_case nexus-mirror 10137 4444
run_rebuild_case nexus-rebuild 10138 4446
run_control_plane_case control-plane 10140 10150
truncate -s 512M "$OUT/e2e-disk.img"
run_case malloc 4430 "malloc:///m0?size_mb=256&blk_size=4096"
run_case file 4431 "uring://$OUT/e2e-disk.img"
run_case digests 4432 "malloc:///m0?size_mb=256" --env NVMF_DIGESTS=1
if command -v tshark >/dev/null 2>&1 && command -v dumpcap >/dev/null 2>&1; then
  run_case capture 4433 "malloc:///m0?size_mb=64" capture --env NVMF_LIGHT=1
  run_case capture-digests 4434 "malloc:///m0?size_mb=64" capture --env NVMF_LIGHT=1 --env NVMF_DIGESTS=1
else
  echo "e2e capture: SKIPPED: tshark is not installed (apt-get install tshark)"
fi
rm -f "$OUT/e2e-disk.img"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
