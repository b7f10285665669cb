# Sourced by the e2e scripts that run a control plane and engines as processes on loopback.
# Set NAME (how failures are prefixed) and OUT (the run's directory, made) first; a script with
# more to stop sets EXTRA_PIDS.
#
# free_port never gives a port twice in one run: the kernel may hand the same ephemeral port to
# two binds in a row once the first socket closed, and an engine given one port for two
# listeners does not start.
free_port() {
  local p
  while :; do
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    if ! grep -qx "$p" "$OUT/.ports" 2>/dev/null; then
      echo "$p" >>"$OUT/.ports"
      echo "$p"
      return
    fi
  done
}
CP="127.0.0.1:$(free_port)"
C=(--control-plane "$CP")
CP_PID=""
ENGINE_PIDS=()
EXTRA_PIDS=()
cleanup() {
  for p in "${EXTRA_PIDS[@]}" "${ENGINE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${EXTRA_PIDS[@]}" "${ENGINE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$CP_PID" ] && { kill -TERM "$CP_PID" 2>/dev/null || true; wait "$CP_PID" 2>/dev/null || true; }
  rm -f "$OUT"/disk-*.img
}
trap cleanup EXIT
fail() { echo "$NAME: FAILED: $*"; echo "--- control plane log"; tail -n 30 "$OUT/cp.err" || true; exit 1; }
