#!/usr/bin/env bash
# Side-by-side benchmark of hopscope's load balancer, CDN hit path and DNS stub against the
# real tools people would use instead (HAProxy, nginx, dnsmasq), all on loopback, all in front
# of the same kind of hopscope API servers, under the same load generators (wrk, dnsperf).
#
# usage: benches/peers.sh [SECONDS] [ROUNDS]   (default 5 s per measurement, 3 rounds; needs
#        the Debian packages wrk haproxy nginx-light dnsmasq-base dnsperf, and a release build)
#
# Fair by construction:
# - every contestant is measured once per round, in the same order, ROUNDS times, so a
#   machine that gets busier or quieter during the run touches each of them alike; the table
#   gives the median and the spread (lowest–highest) of the rounds;
# - threads: HAProxy runs `nbthread 1`, nginx one worker, dnsmasq is single-threaded;
#   hopscope is measured with one engine worker thread (`serve --threads 1`) and with its
#   default two;
# - a cache that does not cache is void: before measuring, both caches must answer the URL
#   from the cache (hopscope `X-Cache: HIT`, nginx `X-Cache-Status: HIT`); nginx is told to
#   honour the origin's Cache-Control as hopscope does;
# - CPU per request is the component's alone: a peer's is its own process's; hopscope's LB
#   runs in the same process as its API servers, so their CPU per request (measured with wrk
#   straight at one server of the same process) is subtracted. A cache hit never reaches a
#   server, so nothing is subtracted there.
# Each peer's configuration is printed before the table.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
bin=${HOPSCOPE_BIN:-target/release/hopscope}
[ -x "$bin" ] || cargo build --release --locked
for tool in wrk haproxy nginx dnsmasq dnsperf python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk haproxy nginx-light dnsmasq-base dnsperf curl)"; exit 1; }
done
work=$(mktemp -d /tmp/hopscope-peers.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Below Linux's ephemeral range (32768+), so no outgoing connection holds one of these ports.
base=$((20000 + RANDOM % 10000))
# start_hopscope NAME PORT_BASE FLAGS...: serves the bench scenario (its own traffic off) and
# sets $hpid and $line (the address line).
start_hopscope() {
  local name=$1 port=$2; shift 2
  mkfifo "$work/in.$name"
  sleep 100000 > "$work/in.$name" & pids+=($!)
  "$bin" serve bench --port-base "$port" "$@" < "$work/in.$name" > "$work/serve.$name.out" 2>"$work/serve.$name.err" & hpid=$!
  pids+=($hpid)
  for _ in $(seq 100); do [ -s "$work/serve.$name.out" ] && break; sleep 0.1; done
  line=$(head -1 "$work/serve.$name.out")
  [ -n "$line" ] || { echo "hopscope serve did not start:"; cat "$work/serve.$name.err"; exit 1; }
}
addr() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); v=d$2; print(v if isinstance(v,str) else ' '.join(v))" "$1"; }

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
results="$work/results.tsv"
# http KEY URL PID...: runs wrk (after a warm-up) and records "KEY rps cpu_us_per_request
# non2xx", the CPU being that of the processes PID... .
http() {
  local key=$1 url=$2; shift 2
  local before=0 after=0 p
  wrk -t2 -c64 -d2s "$url" >/dev/null 2>&1 || true
  for p in "$@"; do before=$((before + $(cpu_ticks "$p"))); done
  local out; out=$(wrk -t2 -c64 -d"${secs}s" "$url" 2>&1)
  for p in "$@"; do after=$((after + $(cpu_ticks "$p"))); done
  local rps total non2xx cpu
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  cpu=$(python3 -c "print(round(($after-$before)/$hz*1e6/max(1,$total),2))")
  printf '%s\t%s\t%s\t%s\n' "$key" "$rps" "$cpu" "${non2xx:-0}" >> "$results"
}
# dns KEY PORT PID: runs dnsperf for one name and records "KEY qps cpu_us_per_query 0".
printf 'api.example.test A\n' > "$work/queries.txt"
dns() {
  local key=$1 port=$2 pid=$3
  dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 1 -c 2 -q 64 >/dev/null 2>&1 || true
  local before; before=$(cpu_ticks "$pid")
  local out; out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$secs" -c 2 -q 64 2>/dev/null)
  local after; after=$(cpu_ticks "$pid")
  local qps done_q cpu
  qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
  done_q=$(echo "$out" | awk '/Queries completed/ {print $3}')
  cpu=$(python3 -c "print(round(($after-$before)/$hz*1e6/max(1,$done_q),2))")
  printf '%s\t%s\t%s\t0\n' "$key" "$qps" "$cpu" >> "$results"
}

start_hopscope two "$base"; hop2=$hpid; line2=$line
start_hopscope one $((base + 200)) --threads 1; hop1=$hpid; line1=$line
start_hopscope off $((base + 400)) --no-trace; hopoff=$hpid; lineoff=$line
servers=$(addr "$line2" "['servers']")

# HAProxy and nginx in front of the servers of the first hopscope, dnsmasq beside its stub.
haproxy_port=$((base + 100)); nginx_port=$((base + 101)); cache_port=$((base + 102)); dnsmasq_port=$((base + 103))
{
  echo "global"; echo "  nbthread 1"; echo "defaults"; echo "  mode http"
  echo "  timeout connect 5s"; echo "  timeout client 30s"; echo "  timeout server 30s"
  echo "frontend f"; echo "  bind 127.0.0.1:$haproxy_port"; echo "  default_backend b"
  echo "backend b"; echo "  balance roundrobin"; echo "  http-reuse always"
  i=0; for s in $servers; do i=$((i+1)); echo "  server s$i $s"; done
} > "$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 & pids+=($!); haproxy_pid=$!
mkdir -p "$work/cache"
{
  echo "user root; worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err;"
  echo "events { worker_connections 4096; }"
  echo "http { access_log off;"
  echo "  upstream backends {"; for s in $servers; do echo "    server $s;"; done; echo "    keepalive 64; }"
  echo "  proxy_cache_path $work/cache levels=1:2 keys_zone=c:10m max_size=100m inactive=60m use_temp_path=off;"
  echo "  server { listen 127.0.0.1:$nginx_port; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
  echo "  server { listen 127.0.0.1:$cache_port; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\";"
  echo "    proxy_cache c; proxy_cache_lock on; add_header X-Cache-Status \$upstream_cache_status always; } }"
  echo "}"
} > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1 & pids+=($!); nginx_pid=$!
dnsmasq_args=(--keep-in-foreground --port="$dnsmasq_port" --listen-address=127.0.0.1 --bind-interfaces
  --no-resolv --no-hosts --address=/api.example.test/127.0.0.1 --user=root --pid-file="$work/dnsmasq.pid")
dnsmasq "${dnsmasq_args[@]}" >/dev/null 2>&1 & pids+=($!); dnsmasq_pid=$!
sleep 1
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

# A cache that does not cache makes its figure void: check both answer from the cache.
cached() { # cached URL HEADER -> prints the header's value on the second of two requests
  curl -s -o /dev/null "$1"; curl -s -D - -o /dev/null "$1" | awk -v h="$2" 'tolower($1)==tolower(h)":" {gsub("\r",""); print $2}'
}
hc=$(cached "http://$(addr "$line2" "['edge']")/restaurants/1" X-Cache)
nc=$(cached "http://127.0.0.1:$cache_port/restaurants/1" X-Cache-Status)
[ "$hc" = HIT ] || { echo "hopscope's CDN does not cache /restaurants/1 (X-Cache: $hc): its figure would be void"; exit 1; }
[ "$nc" = HIT ] || { echo "nginx does not cache /restaurants/1 (X-Cache-Status: $nc): its figure would be void"; exit 1; }

echo "machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ); $rounds rounds of ${secs} s each (wrk -t2 -c64; dnsperf -c2 -q64)"
echo; echo "HAProxy configuration:"; sed 's/^/    /' "$work/haproxy.cfg"
echo; echo "nginx configuration:"; sed 's/^/    /' "$work/nginx.conf"
echo; echo "dnsmasq ${dnsmasq_args[*]}"; echo
echo "both caches answer /restaurants/1 from the cache (hopscope X-Cache: $hc, nginx X-Cache-Status: $nc)"; echo

for r in $(seq "$rounds"); do
  echo "round $r of $rounds…" >&2
  for inst in two one off; do
    case $inst in two) l=$line2 p=$hop2 ;; one) l=$line1 p=$hop1 ;; off) l=$lineoff p=$hopoff ;; esac
    first=$(addr "$l" "['servers'][0]")
    http "servers-$inst" "http://$first/health" "$p"
    http "lb-$inst" "http://$(addr "$l" "['lb']")/health" "$p"
  done
  http lb-haproxy "http://127.0.0.1:$haproxy_port/health" "$haproxy_pid"
  http lb-nginx "http://127.0.0.1:$nginx_port/health" "$nginx_worker"
  http cdn-two "http://$(addr "$line2" "['edge']")/restaurants/1" "$hop2"
  http cdn-one "http://$(addr "$line1" "['edge']")/restaurants/1" "$hop1"
  http cdn-nginx "http://127.0.0.1:$cache_port/restaurants/1" "$nginx_worker"
  d2=$(addr "$line2" "['dns']"); d1=$(addr "$line1" "['dns']")
  dns dns-two "${d2##*:}" "$hop2"
  dns dns-one "${d1##*:}" "$hop1"
  dns dns-dnsmasq "$dnsmasq_port" "$dnsmasq_pid"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, rps, cpu, bad = line.split("\t")
    r = rows.setdefault(key, {"rps": [], "cpu": [], "bad": 0})
    r["rps"].append(float(rps or 0)); r["cpu"].append(float(cpu)); r["bad"] += int(bad)
def med(xs): return statistics.median(xs)
def spread(xs): return f"{min(xs):,.0f}–{max(xs):,.0f}" if max(xs) >= 100 else f"{min(xs):.1f}–{max(xs):.1f}"
def cpu_alone(key):
    """CPU µs per request of the component alone: for hopscope's LB, minus its servers'."""
    inst = key.split("-", 1)[1]
    xs = rows[key]["cpu"]
    if key.startswith("lb-") and f"servers-{inst}" in rows:
        s = rows[f"servers-{inst}"]["cpu"]
        xs = [a - b for a, b in zip(xs, s)]
    return xs
names = {"two": "hopscope, 2 threads", "one": "hopscope, 1 thread", "off": "hopscope, 2 threads, tracing off",
         "haproxy": "HAProxy (nbthread 1)", "nginx": "nginx (1 worker)", "dnsmasq": "dnsmasq"}
paths = [("lb", "LB round robin, /health", "req/s", ["two", "one", "off", "haproxy", "nginx"], ["haproxy", "nginx"]),
         ("cdn", "cache hit, /restaurants/1", "req/s", ["two", "one", "nginx"], ["nginx"]),
         ("dns", "DNS A query", "queries/s", ["two", "one", "dnsmasq"], ["dnsmasq"])]
print("| path | contestant | throughput, median (spread) | CPU µs per request, component alone, median (spread) | hopscope ÷ peer (throughput; CPU) |")
print("|---|---|---|---|---|")
for path, what, unit, order, peers in paths:
    for who in order:
        key = f"{path}-{who}"
        if key not in rows: continue
        r = rows[key]; cpu = cpu_alone(key)
        note = f" ({r['bad']} non-2xx)" if r["bad"] else ""
        ratio = ""
        if who in ("two", "one"):
            ratio = "; ".join(f"÷ {p}: {med(r['rps'])/med(rows[f'{path}-{p}']['rps']):.2f}×, CPU {med(cpu)/med(cpu_alone(f'{path}-{p}')):.2f}×"
                              for p in peers if f"{path}-{p}" in rows)
        print(f"| {what} | {names[who]}{note} | {med(r['rps']):,.0f} {unit} ({spread(r['rps'])}) | {med(cpu):.1f} ({spread(cpu)}) | {ratio} |")
if "lb-two" in rows and "lb-off" in rows:
    on, off = med(rows["lb-two"]["rps"]), med(rows["lb-off"]["rps"])
    con, coff = med(rows["lb-two"]["cpu"]), med(rows["lb-off"]["cpu"])
    print(f"\ntracing on ÷ off, LB and servers (2 threads, same run): throughput {on/off:.2f}×; CPU per load-balanced request {con:.1f} vs {coff:.1f} µs, so tracing every hop costs {con-coff:.1f} µs")
for inst in ("two", "one", "off"):
    k = f"servers-{inst}"
    if k in rows:
        print(f"hopscope's API servers alone ({names[inst]}): {med(rows[k]['rps']):,.0f} req/s, {med(rows[k]['cpu']):.1f} µs CPU per request (subtracted from its LB's)")
PY
