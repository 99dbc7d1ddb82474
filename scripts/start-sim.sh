# Sourced by scripts and benches that need a `keel sim` of their own on free loopback ports. Sourcing it sets
# sim_log (a temporary directory, removed at exit) and an EXIT trap that stops a sim still running.
# start_sim KEEL [sim arguments…]: starts `KEEL sim --port 0 …` in the background (its stdout and stderr in
# $sim_log/sim.out and sim.err), waits up to 30 s for its sim_listening line, and sets sim (its pid),
# sim_port and sim_control_port. stop_sim: SIGTERM to it, and waits.
sim=""
sim_log=$(mktemp -d)
stop_sim() {
  [ -n "$sim" ] && { kill -TERM "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; }
  sim=""
}
trap 'stop_sim; rm -rf "$sim_log"' EXIT

start_sim() {
  local keel=$1
  shift
  "$keel" sim --port 0 "$@" >"$sim_log/sim.out" 2>"$sim_log/sim.err" &
  sim=$!
  for _ in $(seq 1 150); do
    grep -q sim_listening "$sim_log/sim.out" 2>/dev/null && break
    sleep 0.2
  done
  grep -q sim_listening "$sim_log/sim.out" || { echo "keel sim $* did not start:" >&2; cat "$sim_log/sim.err" >&2; return 1; }
  sim_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$sim_log/sim.out")
  sim_control_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_port"])' "$sim_log/sim.out")
}
