#!/usr/bin/env bash
# Takes the window's screenshots in docs/screenshots/ at a classroom projector's size
# (1280x720) and a full-HD screen's (1920x1080), presentation mode on and off, each in a
# real window under Xvfb. Views that need a click (the inspector, the sweep) are driven
# with xdotool at the places their buttons have at these two sizes.
#
# usage: docs/screenshots/take.sh [HOPSCOPE_BINARY]   (default: target/release/hopscope)
# needs: xvfb-run, xdotool (apt-get install xvfb xauth xdotool)
set -eu
bin=${1:-target/release/hopscope}
out=docs/screenshots
mkdir -p "$out" /tmp/xdg
chmod 700 /tmp/xdg
trace=$(mktemp --suffix .json)
trap 'rm -f "$trace"' EXIT

# shot NAME WxH AFTER_SECONDS "ACTIONS" -- hopscope ARGS...
# ACTIONS: space-separated click:X,Y | key:NAME | wait:SECONDS, run from 2.5 s after the
# start; the pointer then rests on the empty foot of the left panel (no tooltip).
shot() {
    local name=$1 size=$2 after=$3 actions=$4
    shift 5
    local inner
    inner=$(mktemp)
    cat >"$inner" <<'IN'
#!/usr/bin/env bash
png=$1; size=$2; after=$3; actions=$4; shift 5
"$@" --size "$size" --screenshot "$png" --after "${after}s" >/dev/null & app=$!
sleep 2.5
for a in $actions; do
    case $a in
        click:*) xy=${a#click:}; xdotool mousemove "${xy%,*}" "${xy#*,}" click 1 ;;
        key:*) xdotool key "${a#key:}" ;;
        wait:*) sleep "${a#wait:}" ;;
    esac
    sleep 0.4
done
xdotool mousemove 60 "$(( ${size#*x} - 60 ))"
wait $app
IN
    chmod +x "$inner"
    XDG_RUNTIME_DIR=/tmp/xdg xvfb-run -a -s "-screen 0 ${size}x24" \
        "$inner" "$out/$name.png" "$size" "$after" "$actions" -- "$@"
    rm -f "$inner"
    echo "wrote $out/$name.png"
}

"$bin" run default --duration 6s --export "$trace" >/dev/null

for size in 1280x720 1920x1080; do
    case $size in
        # The first request in the list; the bottom panel's sweep tab; its Run button; the
        # lesson's Next button, normal and presented.
        1280x720) row=1000,215 tab=438,454 run=788,493 next=85,705 next_p=126,700 ;;
        1920x1080) row=1582,214 tab=439,707 run=787,746 next=84,1064 next_p=126,1060 ;;
    esac
    h=${size#*x}p
    shot "default-$h" "$size" 6 "" -- "$bin" gui default --fresh
    shot "default-$h-presentation" "$size" 6 "" -- "$bin" gui default --fresh --presentation
    # The longest step of any built-in lesson, five clicks on Next away.
    n=click:$next
    shot "lesson-$h" "$size" 7 "$n $n $n $n $n" -- "$bin" gui lb_policies --fresh
    n=click:$next_p
    shot "lesson-$h-presentation" "$size" 7 "$n $n $n $n $n" -- \
        "$bin" gui lb_policies --fresh --presentation
    shot "inspector-$h" "$size" 6 "wait:1 click:$row" -- "$bin" gui default --fresh
    shot "sweep-$h" "$size" 50 "click:$tab click:$run" -- "$bin" gui scaling --fresh
    shot "replay-$h" "$size" 5 "" -- "$bin" open "$trace"
    shot "replay-$h-presentation" "$size" 5 "" -- "$bin" open "$trace" --presentation
done
