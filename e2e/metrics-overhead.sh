#!/usr/bin/env bash
# What Prometheus scraping costs the data path: IOPS through an engine's shared malloc bdev
# with no scraper, with a scraper fetching the exporter's health page every 100 ms (the
# control: an HTTP client and server on this machine, no metrics gathered) and with one
# fetching /metrics every 100 ms, alternating round by round in one invocation, reported as
# ratios to the unscraped run. Everything listens on 127.0.0.1 on
# ports chosen free; the engine and everything it started are stopped at the end.
#   e2e/metrics-overhead.sh [ROUNDS] [RUNTIME_S]      (defaults 4 and 5)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-4}"
RUNTIME="${2:-5}"
OUT="${E2E_OUT:-$ROOT/target/e2e}/metrics-overhead"
mkdir -p "$OUT"
P="$ROOT/panastor"
"$P" build >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
GRPC=$(free_port); REPL=$(free_port); NEXUS=$(free_port); METRICS=$(free_port)
ENGINE="127.0.0.1:$GRPC"
# With two cores or more the engine runs on the last and the load generator on the first.
CORES=$(nproc)
ENGINE_CORE="[$((CORES - 1))]"
BENCH_CPU=0

"$P" engine --cores "$ENGINE_CORE" --grpc "$ENGINE" --replica-listen "127.0.0.1:$REPL" \
  --nexus-listen "127.0.0.1:$NEXUS" --metrics "127.0.0.1:$METRICS" --state-dir "$OUT/state" \
  >"$OUT/engine.out" 2>"$OUT/engine.err" &
ENGINE_PID=$!
SCRAPER_PID=""
cleanup() {
  [ -n "$SCRAPER_PID" ] && kill "$SCRAPER_PID" 2>/dev/null || true
  kill -TERM "$ENGINE_PID" 2>/dev/null || true
  wait "$ENGINE_PID" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "ready" "$OUT/engine.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$OUT/engine.out" || { echo "metrics-overhead: the engine did not start:"; cat "$OUT/engine.err"; exit 1; }

"$P" bdev create 'malloc:///m0?size_mb=256&blk_size=4096' --engine "$ENGINE" >/dev/null
URI=$("$P" bdev share m0 --engine "$ENGINE")

scraper() { # fetches PATH every 100 ms over one kept-alive connection, as Prometheus does,
  # counting the fetches that succeeded (one process, not a curl per fetch: the load generator
  # and the engine have the machine's cores, and a fork per fetch would be measured instead)
  exec python3 - "$METRICS" "$OUT/scrapes" "$1" <<'PY'
import http.client, sys, time
port, counter, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
want = b"bdev_num_read_ops" if path == "/metrics" else b"healthy"
conn, n = http.client.HTTPConnection("127.0.0.1", port, timeout=5), 0
while True:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status == 200 and want in body:
        n += 1
        open(counter, "w").write(str(n))
    time.sleep(0.1)
PY
}

iops() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["iops"])' "$1"; }

run_bench() { # rw out.json
  taskset -c "$BENCH_CPU" "$P" bench "$URI" --rw "$1" --qd 32 --runtime "$RUNTIME" --ramp 1 -o json \
    >"$2" 2>>"$OUT/bench.err"
}
scraped_run() { # rw path out.json
  echo 0 >"$OUT/scrapes"
  scraper "$2" & SCRAPER_PID=$!
  run_bench "$1" "$3"
  kill "$SCRAPER_PID"; wait "$SCRAPER_PID" 2>/dev/null || true; SCRAPER_PID=""
  cat "$OUT/scrapes"
}
median() { python3 -c 'import sys; v=sorted(float(x) for x in sys.argv[1:]); n=len(v); print(f"{(v[n//2] if n%2 else (v[n//2-1]+v[n//2])/2):.3f}")' "$@"; }

echo "metrics-overhead: $ROUNDS rounds of ${RUNTIME} s per mode; engine on core $ENGINE_CORE, bench on core $BENCH_CPU"
printf '%-10s %5s %12s %12s %12s %8s %8s %8s\n' workload round "IOPS plain" "IOPS health" "IOPS metrics" "health" "metrics" scrapes
for rw in randread randwrite; do
  hs=(); ms=()
  for r in $(seq 1 "$ROUNDS"); do
    run_bench "$rw" "$OUT/$rw-$r-plain.json"
    scraped_run "$rw" /-/healthy "$OUT/$rw-$r-health.json" >/dev/null
    n=$(scraped_run "$rw" /metrics "$OUT/$rw-$r-metrics.json")
    a=$(iops "$OUT/$rw-$r-plain.json"); h=$(iops "$OUT/$rw-$r-health.json"); m=$(iops "$OUT/$rw-$r-metrics.json")
    hr=$(python3 -c "print(f'{$h/$a:.3f}')"); mr=$(python3 -c "print(f'{$m/$a:.3f}')")
    hs+=("$hr"); ms+=("$mr")
    printf '%-10s %5s %12.0f %12.0f %12.0f %8s %8s %8s\n' "$rw" "$r" "$a" "$h" "$m" "$hr" "$mr" "$n"
  done
  echo "$rw: median ratio to plain: health page $(median "${hs[@]}"), /metrics $(median "${ms[@]}")"
done
# The counters moved with the IO the runs did.
curl -sf "http://127.0.0.1:$METRICS/metrics" | grep -E '^bdev_num_(read|write)_ops\{.*name="m0"' || true
