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
#   bench/run.sh mem      # memory per registered contact: PSS empty, after 10 000 and
#                         # after 100 000 registered users, serval then Kamailio (as the
#                         # harness's bench-kamailio.sh mem); MILLION=1 adds a million
#                         # users for serval (the issue's "a million contacts in under 1 GB")
#   bench/run.sh profile  # where the CPU goes at fixed rates (PROFILE_RATES): user and
#                         # kernel time, context switches and system calls per operation
#   SERVERS=serval bench/run.sh reg   # only one side
#   SERVERS="serval kamailio kamailio-qm" bench/run.sh fixed
#                         # also Kamailio with its default allocator, in the same run
#
# Kamailio runs at its best: with its TLSF allocator (KAM_MM=tlsf, the harness's -x/-X), as
# production guides start it; Debian builds it with memory debugging, which makes its
# default allocator (qm) dominate its profile. KAM_MM=fm picks the other fast one, and
# `kamailio-qm` in SERVERS names Kamailio with its default allocator.
#
# Needs sipp (sip-tester), python3, taskset; Kamailio from Debian (kamailio,
# kamailio-sqlite-modules) for its side. Results: bench/results/<time>/ (RESULT lines in
# each run's summary.txt, and all of them in results.txt).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERF=${PERF_DIR:-$ROOT/../shared/perf}
WHAT=${1:-reg}
SERVERS=${SERVERS:-"serval kamailio"}
export KAM_MM=${KAM_MM-tlsf}
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
                kamailio) cmd="env KAM_MM=$KAM_MM $K --port 5071 --children 2 ${kauth[*]}" target=127.0.0.1:5071;;
                kamailio-qm) cmd="env KAM_MM= $K --port 5071 --children 2 ${kauth[*]}" target=127.0.0.1:5071;;
                *) echo "unknown server $server" >&2; exit 2;;
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
import os
mm = os.environ.get("KAM_MM") or "qm"
names = {"serval": "serval", "kamailio": "Kamailio " + mm, "kamailio-qm": "Kamailio qm (default)"}
servers = [s for s in names if any(s in r for r in rows.values())]
print("| workload | rate | " + " | ".join(names[s] + " CPU per op" for s in servers) + " | serval / Kamailio " + mm + " |")
print("| --- | ---: | " + " | ".join("---:" for _ in servers) + " | ---: |")
for w, r in rows.items():
    cell = lambda x: "%.1f µs (%s)" % (x[2], x[3]) if x else "-"
    s, k = r.get("serval"), r.get("kamailio")
    ratio = "%.2f" % (s[2] / k[2]) if s and k else "-"
    rate = next(iter(r.values()))[0]
    print(f"| {w} | {rate:.0f}/s | " + " | ".join(cell(r.get(x)) for x in servers) + f" | {ratio} |")
PY
    exit 0
fi

if [ "$WHAT" = profile ]; then
    # Where each server's CPU goes at a fixed rate (PROFILE_RATES, default REG 20 000/s
    # and CALL 2 500/s), pinned as above, over the middle of a 40-s run offered by the
    # harness: CPU, context switches and system calls per operation (perf stat counting
    # the syscall tracepoints, 5 s), then the share of CPU in the kernel (perf record at
    # 2 999 Hz, 5 s, by DSO). Kept in $OUT/profile-*: .stat, .data (perf report -i), .dso.
    PROFILE_RATES=${PROFILE_RATES:-"REG=20000 CALL=2500"}
    for pair in $PROFILE_RATES; do
        w=${pair%%=*} rate=${pair#*=}
        for server in $SERVERS; do
            case $server in
                serval) taskset -c 0 "$SERVAL" -c "$(serval_config "serval-profile-$w" 5096 false)" \
                            > "$OUT/profile-$server-$w.log" 2>&1 & target=127.0.0.1:5096;;
                kamailio) taskset -c 0 env KAM_MM="$KAM_MM" "$K" --port 5071 --children 2 \
                            > "$OUT/profile-$server-$w.log" 2>&1 & target=127.0.0.1:5071;;
                kamailio-qm) taskset -c 0 env KAM_MM= "$K" --port 5071 --children 2 \
                            > "$OUT/profile-$server-$w.log" 2>&1 & target=127.0.0.1:5071;;
            esac
            main=$!
            sleep 2 # started (the harness probes it with OPTIONS before it begins)
            "$PERF/run.sh" "$target" --server-pid "$main" --workloads "$w" --mode fixed --rates "$rate" \
                --duration 40 --repeat 1 --cooldown 1 --domain example.test --users "$USERS" \
                --callees "$CALLEES" --sipp-cpus 1 --out "$OUT/profile-$server-$w" > "$OUT/profile-$server-$w.result" 2>&1 &
            harness=$!
            sleep 15
            pids=$(echo "$main" $(ps -o pid= --ppid "$main") | tr -s ' ' ',')
            calls=recvfrom,recvmsg,recvmmsg,sendto,sendmsg,sendmmsg,read,write,epoll_wait,futex,poll
            events=task-clock,context-switches$(for c in ${calls//,/ }; do printf ',syscalls:sys_enter_%s' "$c"; done)
            perf stat -x, -e "$events" -p "$pids" -- sleep 5 2> "$OUT/profile-$server-$w.stat" >/dev/null
            perf record -q -F 2999 -e cpu-clock -p "$pids" -o "$OUT/profile-$server-$w.data" -- sleep 5 2>/dev/null >/dev/null
            perf report -q -i "$OUT/profile-$server-$w.data" --sort dso --stdio 2>/dev/null > "$OUT/profile-$server-$w.dso" || true
            wait "$harness" || true
            kill "$main" 2>/dev/null || true; wait "$main" 2>/dev/null || true
            python3 - "$server" "$w" "$rate" "$OUT/profile-$server-$w.stat" "$OUT/profile-$server-$w.dso" \
                <<'PY' | tee -a "$OUT/profile.txt"
import sys
server, w, rate, stat, dso = sys.argv[1:]
ops = float(rate) * 5
counts = {}
for line in open(stat):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].replace(".", "").isdigit():
        counts[f[2].replace("syscalls:sys_enter_", "")] = float(f[0])
cpu_us = counts.pop("task-clock", 0) * 1e3 / ops  # task-clock is in ms
switches = counts.pop("context-switches", 0) / ops
kernel = sum(float(l.split("%")[0]) for l in open(dso) if "[kernel" in l)
calls = ", ".join(f"{k} {v / ops:.2f}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v / ops >= 0.01)
print(f"PROFILE server={server} workload={w} rate={float(rate):.0f} cpu_us={cpu_us:.1f} "
      f"kernel_pct={kernel:.0f} user_us={cpu_us * (1 - kernel / 100):.1f} kernel_us={cpu_us * kernel / 100:.1f} "
      f"context_switches_per_op={switches:.2f} syscalls_per_op: {calls}")
PY
        done
    done
    exit 0
fi

if [ "$WHAT" = mem ]; then
    # fill PORT PID [CTL]: memory empty, after 10 000 and after 100 000 registered users
    # (Kamailio's shm and usrloc counts through its control socket CTL).
    fill() {
        local port=$1 pid=$2 ctl=${3:-}
        echo "== empty"; "$PERF/mem.sh" "$pid" $ctl
        "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 5000 \
            --duration 2 --repeat 1 --users 10000 --cooldown 1 --domain example.test --out "$OUT/r10k-$port" >/dev/null
        echo "== after 10,000 users"; "$PERF/mem.sh" "$pid" $ctl
        "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 10000 \
            --duration 10 --repeat 1 --users 100000 --cooldown 1 --domain example.test --out "$OUT/r100k-$port" >/dev/null
        echo "== after 100,000 users"; "$PERF/mem.sh" "$pid" $ctl
    }
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
        echo "== serval"; fill $port "$pid"
        if [ -n "${MILLION:-}" ]; then
            "$PERF/run.sh" 127.0.0.1:$port --server-pid "$pid" --workloads REG --mode fixed --rates 25000 \
                --duration 40 --repeat 1 --users 1000000 --cooldown 1 --domain example.test --out "$OUT/r1m" >/dev/null
            echo "== after 1,000,000 users"; "$PERF/mem.sh" "$pid"
        fi
    } 2>&1 | tee "$OUT/mem.txt"
    kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    # Kamailio's side, when SERVERS names it (the harness's bench-kamailio.sh mem, with the
    # allocator chosen as for the other modes).
    for server in $SERVERS; do
        case $server in kamailio) mm=$KAM_MM;; kamailio-qm) mm=;; *) continue;; esac
        ctl=unixs:/tmp/kamailio-perf-mem.ctl
        taskset -c 0 env KAM_MM="$mm" "$K" --port 5072 --children 2 --ctl "$ctl" \
            > "$OUT/$server-mem.log" 2>&1 &
        pid=$!
        sleep 2
        { echo "== $server (KAM_MM=${mm:-qm})"; fill 5072 "$pid" "$ctl"; } 2>&1 | tee -a "$OUT/mem.txt"
        kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    done
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
