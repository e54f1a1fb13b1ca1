#!/usr/bin/env bash
# What the window costs when nobody touches it: the default scenario at 1920×1080 under
# Xvfb, once with traffic running and once paused (a copy of the scenario with
# `traffic.enabled = false`, which every version reads the same way).
#
# usage: benches/window_cpu.sh [SECONDS] [BINARY...]   (default 20 s per phase; the release
#        build; needs Xvfb and Mesa's software GL: apt-get install xvfb libgl1-mesa-dri)
#        ROUNDS=3 benches/window_cpu.sh 20 OLD NEW   alternates the binaries, round by round;
#        SIZE=1280x720 for another window size (the screen is made to fit).
# Prints a markdown row per phase: the process's CPU without the GL driver's threads (% of one
# core, summed over threads from /proc/PID/task/*/stat), the driver's threads (Mesa llvmpipe,
# a stand-in for GPU work), the X server's, and frames per second (HOPSCOPE_FRAME_STATS=1;
# binaries without it show "-").
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(target/release/hopscope)
[ -x target/release/hopscope ] || [ "${bins[0]}" != target/release/hopscope ] || cargo build --release --locked
rounds=${ROUNDS:-1}
size=${SIZE:-1920x1080}
warmup=${WARMUP:-5}
for tool in Xvfb python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install xvfb python3)"; exit 1; }
done
work=$(mktemp -d /tmp/hopscope-window-cpu.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

display=":$((100 + RANDOM % 400))"
Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 & xpid=$!
pids+=($xpid)
sleep 1
kill -0 "$xpid" 2>/dev/null || { echo "Xvfb did not start on $display"; exit 1; }
sed 's/^\[traffic\]$/[traffic]\nenabled = false/' assets/scenarios/default.toml > "$work/paused.toml"
grep -q '^enabled = false' "$work/paused.toml" || { echo "could not make the paused scenario"; exit 1; }

# sample PID: prints "app_ticks driver_ticks" summed over the threads alive now.
sample() {
  python3 - "$1" <<'EOF'
import os, re, sys
pid = sys.argv[1]
driver = re.compile(r"^(llvmpipe|gallium|lp_|glthread|mesa|disk_cache|threaded)")
app = drv = 0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    if driver.match(comm):
        drv += ticks
    else:
        app += ticks
print(app, drv)
EOF
}
x_ticks() { awk '{print $14+$15}' "/proc/$xpid/stat"; }
# frames LOG: prints "frames seconds" of the last frame-stats line (0 0 if none; a line is
# printed with every frame).
frames() { grep 'frame-stats' "$1" | tail -1 | awk '{print $3, $6} END {if (NR == 0) print 0, 0}'; }
hz=$(getconf CLK_TCK)

# phase BINARY NAME ARGS...: runs the window for the warm-up plus $secs, prints a row.
phase() {
  local bin=$1 name=$2; shift 2
  local log="$work/$name.log"
  mkdir -p "$work/xdg"; chmod 700 "$work/xdg"
  DISPLAY=$display XDG_RUNTIME_DIR="$work/xdg" XDG_CONFIG_HOME="$work/config" HOPSCOPE_FRAME_STATS=1 \
    "$bin" gui "$@" --size "$size" --save-dir "$work" >/dev/null 2>"$log" & local pid=$!
  pids+=($pid)
  sleep "$warmup"
  kill -0 "$pid" 2>/dev/null || { echo "the window exited:"; cat "$log"; exit 1; }
  read -r a1 d1 < <(sample "$pid"); local x1; x1=$(x_ticks); read -r f1 s1 < <(frames "$log")
  local t1; t1=$(date +%s.%N)
  sleep "$secs"
  read -r a2 d2 < <(sample "$pid"); local x2; x2=$(x_ticks); read -r f2 s2 < <(frames "$log")
  local t2; t2=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local stats=yes; grep -q 'frame-stats' "$log" || stats=no
  python3 - "$bin" "$name" "$a1" "$a2" "$d1" "$d2" "$x1" "$x2" "$f1" "$s1" "$f2" "$s2" "$t1" "$t2" "$hz" "$stats" <<'EOF'
import sys
bin, name, a1, a2, d1, d2, x1, x2, f1, s1, f2, s2, t1, t2, hz, stats = sys.argv[1:]
wall = float(t2) - float(t1)
pct = lambda a, b: f"{(int(b) - int(a)) / int(hz) / wall * 100:.1f} %"
fps = f"{(int(f2) - int(f1)) / wall:.1f}" if stats == "yes" else "-"
print(f"| {bin} | {name} | {pct(a1, a2)} | {pct(d1, d2)} | {pct(x1, x2)} | {fps} |")
EOF
}

echo "default scenario, $size under Xvfb, ${warmup} s warm-up then ${secs} s measured, $(nproc) cores"
echo
echo "| binary | phase | process without GL driver | GL driver threads | Xvfb | frames/s |"
echo "|---|---|---|---|---|---|"
for _ in $(seq "$rounds"); do
  for bin in "${bins[@]}"; do
    phase "$bin" running default
    phase "$bin" paused "$work/paused.toml"
  done
done
