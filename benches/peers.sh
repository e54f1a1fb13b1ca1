#!/usr/bin/env bash
# Side-by-side benchmark of hopscope's load balancer, CDN hit path and DNS stub against the
# real tools people would use instead (HAProxy, nginx, dnsmasq), all on loopback, all in front
# of the same hopscope API servers, under the same load generators (wrk, dnsperf).
#
# usage: benches/peers.sh [SECONDS]      (default 8 s per measurement; needs the Debian
#        packages wrk haproxy nginx-light dnsmasq-base dnsperf, and a release build)
# Prints a markdown table of requests/s and CPU microseconds per request (the steadier
# figure on a noisy machine), with hopscope as a ratio of each peer.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
bin=target/release/hopscope
[ -x "$bin" ] || cargo build --release
for tool in wrk haproxy nginx dnsmasq dnsperf python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk haproxy nginx-light dnsmasq-base dnsperf)"; exit 1; }
done
work=$(mktemp -d /tmp/hopscope-peers.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Below Linux's ephemeral range (32768+), so no outgoing connection holds one of these ports.
base=$((20000 + RANDOM % 10000))
# hopscope: serve the bench scenario; its own traffic off; fixed ports from $base.
# start_hopscope FLAGS NAME PORT_BASE: sets $hpid and $line (the address line).
start_hopscope() {
  mkfifo "$work/in.$2"
  sleep 100000 > "$work/in.$2" & pids+=($!)
  "$bin" serve bench --port-base "$3" $1 < "$work/in.$2" > "$work/serve.$2.out" 2>"$work/serve.$2.err" & hpid=$!
  pids+=($hpid)
  for _ in $(seq 100); do [ -s "$work/serve.$2.out" ] && break; sleep 0.1; done
  line=$(head -1 "$work/serve.$2.out")
  [ -n "$line" ] || { echo "hopscope serve did not start:"; cat "$work/serve.$2.err"; exit 1; }
}
addr() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); v=d$2; print(v if isinstance(v,str) else ' '.join(v))" "$1"; }

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# measure NAME URL PID...: runs wrk, prints "rps cpu_us_per_request"
measure() {
  local url=$1; shift
  local before=0 after=0 p
  wrk -t2 -c64 -d2s "$url" >/dev/null 2>&1 || true   # warm-up
  for p in "$@"; do before=$((before + $(cpu_ticks "$p"))); done
  local out; out=$(wrk -t2 -c64 -d"${secs}s" "$url" 2>&1)
  for p in "$@"; do after=$((after + $(cpu_ticks "$p"))); done
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  local cpu_us; cpu_us=$(python3 -c "print(round(($after-$before)/$hz*1e6/max(1,$total),1))")
  echo "$rps $cpu_us ${non2xx:-0}"
}

start_hopscope "" traced "$base"; hop_pid=$hpid
lb=$(addr "$line" "['lb']"); edge=$(addr "$line" "['edge']"); dns=$(addr "$line" "['dns']")
servers=$(addr "$line" "['servers']")

# HAProxy and nginx in front of the same hopscope servers.
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
  echo "  server { listen 127.0.0.1:$cache_port; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_cache c; } }"
  echo "}"
} > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1 & pids+=($!); nginx_pid=$!
dnsmasq --keep-in-foreground --port="$dnsmasq_port" --listen-address=127.0.0.1 --bind-interfaces \
  --no-resolv --no-hosts --address=/api.example.test/127.0.0.1 --user=root --pid-file="$work/dnsmasq.pid" \
  >/dev/null 2>&1 & pids+=($!); dnsmasq_pid=$!
sleep 1
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

echo "machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
echo
echo "| what | tool | requests/s | CPU µs/request (proxy and the hopscope servers behind it) | hopscope ÷ peer (throughput) |"
echo "|---|---|---|---|---|"
# Load balancer, round robin over the same 4 servers, light backend path (/health).
read -r hop_rps hop_cpu _ <<<"$(measure "http://$lb/health" "$hop_pid")"
read -r ha_rps ha_cpu _ <<<"$(measure "http://127.0.0.1:$haproxy_port/health" "$haproxy_pid" "$hop_pid")"
read -r ng_rps ng_cpu _ <<<"$(measure "http://127.0.0.1:$nginx_port/health" "$nginx_worker" "$hop_pid")"
ratio() { python3 -c "print(f'{float($1)/float($2):.2f}')"; }
echo "| LB round robin, /health | hopscope (tracing on) | $hop_rps | $hop_cpu | |"
echo "| LB round robin, /health | HAProxy | $ha_rps | $ha_cpu | $(ratio "$hop_rps" "$ha_rps") |"
echo "| LB round robin, /health | nginx | $ng_rps | $ng_cpu | $(ratio "$hop_rps" "$ng_rps") |"
# CDN hit path: a cacheable resource, warm cache.
read -r hc_rps hc_cpu hc_bad <<<"$(measure "http://$edge/restaurants/1" "$hop_pid")"
read -r nc_rps nc_cpu nc_bad <<<"$(measure "http://127.0.0.1:$cache_port/restaurants/1" "$nginx_worker" "$hop_pid")"
echo "| cache hit, /restaurants/1 | hopscope CDN (tracing on) | $hc_rps | $hc_cpu | |"
echo "| cache hit, /restaurants/1 | nginx proxy_cache ($nc_bad non-2xx) | $nc_rps | $nc_cpu | $(ratio "$hc_rps" "$nc_rps") |"
# DNS: queries per second for one name, as fast as answers come.
printf 'api.example.test A\n' > "$work/queries.txt"
hop_q=$(dnsperf -s 127.0.0.1 -p "${dns##*:}" -d "$work/queries.txt" -l "$secs" -c 4 -q 200 2>/dev/null | awk '/Queries per second/ {print $4}')
dm_q=$(dnsperf -s 127.0.0.1 -p "$dnsmasq_port" -d "$work/queries.txt" -l "$secs" -c 4 -q 200 2>/dev/null | awk '/Queries per second/ {print $4}')
echo "| DNS A query | hopscope stub (tracing on) | $hop_q | | |"
echo "| DNS A query | dnsmasq | $dm_q | | $(ratio "$hop_q" "$dm_q") |"

# The same load balancer with detailed tracing off: what tracing costs.
start_hopscope "--no-trace" untraced $((base + 200)); quiet_pid=$hpid
lb2=$(addr "$line" "['lb']")
read -r q_rps q_cpu _ <<<"$(measure "http://$lb2/health" "$quiet_pid")"
echo "| LB round robin, /health | hopscope, tracing off | $q_rps | $q_cpu | tracing on ÷ off: $(ratio "$hop_rps" "$q_rps") |"
