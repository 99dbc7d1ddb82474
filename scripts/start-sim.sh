# Sourced by scripts and benches that need a `keel sim` of their own on free loopback ports.
# start_sim KEEL LOGDIR [sim arguments…]: starts `KEEL sim --port 0 …` in the background (its stdout and
# stderr in LOGDIR/sim.out and LOGDIR/sim.err), waits up to 30 s for its sim_listening line, and sets
# sim (its pid), sim_port and sim_control_port. The caller stops it (kill -TERM "$sim").
start_sim() {
  local keel=$1 log=$2
  shift 2
  "$keel" sim --port 0 "$@" >"$log/sim.out" 2>"$log/sim.err" &
  sim=$!
  for _ in $(seq 1 150); do
    grep -q sim_listening "$log/sim.out" 2>/dev/null && break
    sleep 0.2
  done
  grep -q sim_listening "$log/sim.out" || { echo "keel sim $* did not start:" >&2; cat "$log/sim.err" >&2; return 1; }
  sim_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$log/sim.out")
  sim_control_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_port"])' "$log/sim.out")
}
