#!/usr/bin/env bash
# Overload: serval held to QUOTA % of one core (a cgroup v1 CPU quota, needs root), so
# that SIPp on the other core can offer twice what it sustains; CALL at RATE_OK, then
# RATE_OVER, then RATE_AFTER and RATE_OK again, 20 s each, with the PSS after each step.
#
#   bench/overload.sh [QUOTA=25] [RATE_OK=2000] [RATE_OVER=4000] [RATE_AFTER=1000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERF=${PERF_DIR:-$ROOT/../shared/perf}
QUOTA=${1:-25} R1=${2:-2000} R2=${3:-4000} R3=${4:-1000}
OUT=${OUT:-$ROOT/bench/results/overload-$(date +%Y%m%d-%H%M%S)}
CG=/sys/fs/cgroup/cpu/serval-overload
mkdir -p "$OUT" "$CG"
cargo build --release -p serval --manifest-path "$ROOT/Cargo.toml"
cat > "$OUT/serval.toml" <<CONF
[server]
listen = ["udp:127.0.0.1:5098"]
domains = ["example.test"]
[database]
url = "sqlite:$OUT/serval.db"
[limits]
udp_recv_buffer = 8388608
[log]
level = "warn"
[registrar]
storage = "memory"
[auth]
enabled = false
CONF
echo 100000 > "$CG/cpu.cfs_period_us"
echo $((QUOTA * 1000)) > "$CG/cpu.cfs_quota_us"
taskset -c 0 "$ROOT/target/release/serval" -c "$OUT/serval.toml" > "$OUT/serval.log" 2>&1 &
pid=$!
echo "$pid" > "$CG/cgroup.procs"
trap 'kill $pid 2>/dev/null || true; rmdir "$CG" 2>/dev/null || true' EXIT
sleep 1
step() { # step RATE NAME
    echo "== $1/s ($2)"
    "$PERF/run.sh" 127.0.0.1:5098 --server-pid "$pid" --workloads CALL --mode fixed --rates "$1" \
        --duration 20 --repeat 1 --cooldown 1 --sipp-cpus 1 --domain example.test \
        --out "$OUT/$2" 2>&1 | grep '^RESULT'
    "$PERF/mem.sh" "$pid"
}
{
    step "$R1" sustained
    step "$R2" overload
    sleep 5
    step "$R3" after
    step "$R1" again
    kill -0 "$pid" && echo "serval still running"
} | tee "$OUT/overload.txt"
