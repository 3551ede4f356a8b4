#!/usr/bin/env bash
# Serval and Kamailio side by side on the shared SIPp harness (../shared/perf, or
# PERF_DIR), on this machine, in one run: each server pinned to cpu0, the SIPps to cpu1,
# the same workloads and the same search (see the harness README).
#
#   bench/run.sh reg      # REG and REG-AUTH (registrar, digest)
#   bench/run.sh call     # CALL and CALL-AUTH (proxy)
#   bench/run.sh all
#   bench/run.sh fixed    # CPU per operation at the same fixed rates for both servers
#                         # (FIXED_RATES, default rates Kamailio holds on one core), and
#                         # the serval / Kamailio ratio of CPU per operation
#   bench/run.sh mem      # memory per registered contact (serval only): PSS empty, after
#                         # 10 000 and after 100 000 registered users, as the harness's
#                         # bench-kamailio.sh mem does for Kamailio; MILLION=1 adds a
#                         # million users (the issue's "a million contacts in under 1 GB")
#   SERVERS=serval bench/run.sh reg   # only one side
#
# Needs sipp (sip-tester), python3, taskset; Kamailio from Debian (kamailio,
# kamailio-sqlite-modules) for its side. Results: bench/results/<time>/ (RESULT lines in
# each run's summary.txt, and all of them in results.txt).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERF=${PERF_DIR:-$ROOT/../shared/perf}
WHAT=${1:-reg}
SERVERS=${SERVERS:-"serval kamailio"}
OUT=${OUT:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
USERS=10000 CALLEES=100
mkdir -p "$OUT"
[ -x "$PERF/run.sh" ] || { echo "no harness at $PERF (set PERF_DIR)" >&2; exit 2; }

cargo build --release -p serval -p servalctl --manifest-path "$ROOT/Cargo.toml"
SERVAL=$ROOT/target/release/serval
SERVALCTL=$ROOT/target/release/servalctl

# The harness's subscribers: user0 .. user(USERS+CALLEES-1), password "secret".
users_csv=$OUT/users.csv
python3 -c "
for i in range($USERS + $CALLEES):
    print(f'user{i},example.test,secret')" > "$users_csv"

# serval_config NAME PORT AUTH: a config file for one serval under test.
serval_config() {
    local name=$1 port=$2 auth=$3 db="$OUT/$1.db"
    rm -f "$db" "$db-wal" "$db-shm"
    cat > "$OUT/$name.toml" <<CONF
[server]
listen = ["udp:127.0.0.1:$port"]
domains = ["example.test"]
[database]
url = "sqlite:$db"
[limits]
udp_recv_buffer = 8388608
[log]
level = "warn"
[registrar]
storage = "memory"          # as the reference Kamailio (usrloc db_mode 0)
[auth]
enabled = $auth
CONF
    if [ "$auth" = true ]; then
        "$SERVALCTL" --db "sqlite:$db" db init >/dev/null
        "$SERVALCTL" --db "sqlite:$db" user import "$users_csv" >/dev/null
    fi
    echo "$OUT/$name.toml"
}

COMMON=(--repeat 3 --duration 20 --search-duration 10 --cooldown 6 --resolution 5 --ramp-factor 1.3
        --domain example.test --prefix user --password secret --users "$USERS" --callees "$CALLEES"
        --server-cpus 0 --sipp-cpus 1)
K="$PERF/kamailio/start-kamailio.sh"

run() { # run NAME TARGET WORKLOADS START_RATES SERVER_CMD
    echo "== $1: $3" >&2
    "$PERF/run.sh" "$2" --workloads "$3" --start-rates "$4" "${COMMON[@]}" \
        --server-cmd "$5" --out "$OUT/$1" | tee -a "$OUT/results.txt"
}

if [ "$WHAT" = fixed ]; then
    # The same offered load to both servers, as the issue's "CPU per operation at the
    # same fixed rate": each workload at a rate both sustain.
    FIXED_RATES=${FIXED_RATES:-"REG=20000 REG-AUTH=8000 CALL=2500 CALL-AUTH=2000"}
    FIXED=(--mode fixed --duration 20 --repeat 3 --cooldown 6
           --domain example.test --prefix user --password secret --users "$USERS" --callees "$CALLEES"
           --server-cpus 0 --sipp-cpus 1)
    for pair in $FIXED_RATES; do
        w=${pair%%=*} rate=${pair#*=} auth=false kauth=()
        case $w in *AUTH) auth=true kauth=(--auth --users $((USERS + CALLEES)) --db /tmp/kamailio-perf-5071.db);; esac
        for server in $SERVERS; do
            case $server in
                serval) cmd="$SERVAL -c $(serval_config "serval-fixed-$w" 5096 "$auth")" target=127.0.0.1:5096;;
                kamailio) cmd="$K --port 5071 --children 2 ${kauth[*]}" target=127.0.0.1:5071;;
            esac
            echo "== $server $w at $rate/s" >&2
            "$PERF/run.sh" "$target" --workloads "$w" --rates "$rate" "${FIXED[@]}" \
                --server-cmd "$cmd" --out "$OUT/fixed-$server-$w" | grep '^RESULT' |
                sed "s/^RESULT /RESULT server=$server /" | tee -a "$OUT/results.txt"
        done
    done
    # CPU per operation (µs) = server CPU (% of one core) / achieved rate, and the ratio.
    python3 - "$OUT/results.txt" <<'PY' | tee "$OUT/fixed.txt"
import sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    if "server" not in f or f.get("server_cpu_pct", "NA") == "NA":
        continue
    us = float(f["server_cpu_pct"]) / 100 / float(f["achieved_cps"]) * 1e6
    rows.setdefault(f["workload"], {})[f["server"]] = (float(f["rate"]), float(f["achieved_cps"]), us, f["status"])
print("| workload | rate | serval CPU per op | Kamailio CPU per op | ratio |")
print("| --- | ---: | ---: | ---: | ---: |")
for w, r in rows.items():
    s, k = r.get("serval"), r.get("kamailio")
    cell = lambda x: "%.1f µs (%s)" % (x[2], x[3]) if x else "-"
    ratio = "%.2f" % (s[2] / k[2]) if s and k else "-"
    rate = (s or k)[0]
    print(f"| {w} | {rate:.0f}/s | {cell(s)} | {cell(k)} | {ratio} |")
PY
    exit 0
fi

if [ "$WHAT" = mem ]; then
    port=5094
    config=$(serval_config serval-mem $port false)
    taskset -c 0 "$SERVAL" -c "$config" > "$OUT/serval-mem.log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    # Ready when it answers an OPTIONS (the harness's own probe does the same).
    python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.2)
me = "127.0.0.1:%d" % s.getsockname()[1]
msg = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKready\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
       "Call-ID: ready@%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (port, me, me, me)
for _ in range(100):
    s.sendto(msg.encode(), ("127.0.0.1", port))
    try:
        s.recvfrom(65536)
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit("serval does not answer on port %d" % port)
PY
    {
        echo "== empty"; "$PERF/mem.sh" "$pid"
        "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 5000 \
            --duration 2 --repeat 1 --users 10000 --cooldown 1 --domain example.test --out "$OUT/r10k" >/dev/null
        echo "== after 10,000 users"; "$PERF/mem.sh" "$pid"
        "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 10000 \
            --duration 10 --repeat 1 --users 100000 --cooldown 1 --domain example.test --out "$OUT/r100k" >/dev/null
        echo "== after 100,000 users"; "$PERF/mem.sh" "$pid"
        if [ -n "${MILLION:-}" ]; then
            "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 25000 \
                --duration 40 --repeat 1 --users 1000000 --cooldown 1 --domain example.test --out "$OUT/r1m" >/dev/null
            echo "== after 1,000,000 users"; "$PERF/mem.sh" "$pid"
        fi
    } 2>&1 | tee "$OUT/mem.txt"
    exit 0
fi

for server in $SERVERS; do
    case "$server:$WHAT" in
        serval:reg|serval:all)
            run serval-reg 127.0.0.1:5090 REG REG=30000 "$SERVAL -c $(serval_config serval-noauth 5090 false)"
            run serval-reg-auth 127.0.0.1:5091 REG-AUTH REG-AUTH=10000 "$SERVAL -c $(serval_config serval-auth 5091 true)";;&
        serval:call|serval:all)
            run serval-call 127.0.0.1:5092 CALL CALL=3000 "$SERVAL -c $(serval_config serval-call 5092 false)"
            run serval-call-auth 127.0.0.1:5093 CALL-AUTH CALL-AUTH=2500 "$SERVAL -c $(serval_config serval-call-auth 5093 true)";;
        kamailio:reg|kamailio:all)
            run kamailio-reg 127.0.0.1:5070 REG REG=26000 "$K --port 5070 --children 2"
            run kamailio-reg-auth 127.0.0.1:5071 REG-AUTH REG-AUTH=8000 \
                "$K --auth --port 5071 --children 2 --users $((USERS + CALLEES)) --db /tmp/kamailio-perf-5071.db";;&
        kamailio:call|kamailio:all)
            run kamailio-call 127.0.0.1:5070 CALL CALL=2500 "$K --port 5070 --children 2"
            run kamailio-call-auth 127.0.0.1:5071 CALL-AUTH CALL-AUTH=1500 \
                "$K --auth --port 5071 --children 2 --users $((USERS + CALLEES)) --db /tmp/kamailio-perf-5071.db";;
        *:reg|*:call|*:all) ;;
        *) echo "usage: $0 [reg|call|all|fixed|mem]" >&2; exit 2;;
    esac
done
echo "results in $OUT/results.txt" >&2
