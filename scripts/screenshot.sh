#!/usr/bin/env bash
# Takes docs/screenshot.png: two client windows under Xvfb, driven with xdotool like a person
# (passphrases, Connect, a short conversation, "Mark as verified"). The first window starts the
# relay in-process; the second finds it. Needs: ./scripts/install-system-deps.sh --runtime --xvfb,
# plus xdotool and imagemagick (installed below when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh --runtime --xvfb
command -v xdotool >/dev/null && command -v convert >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq xdotool imagemagick
}
cargo build --release --locked -p egui-client
work=$(mktemp -d)
export DISPLAY=:99 LIBGL_ALWAYS_SOFTWARE=1 XDG_DATA_HOME="$work/xdg"
Xvfb :99 -screen 0 2000x720x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
bin=target/release/egui-client
"$bin" --data-dir "$work/data" --name Alice --room demo >/dev/null 2>&1 &
sleep 4
alice=$(xdotool search --name e2e-chat | head -1)
fill() { xdotool windowfocus --sync "$1"; for y in 115 138; do xdotool mousemove $(($2 + 325)) $y click 1; sleep 0.3; xdotool type --window "$1" --delay 30 "$3"; done; xdotool mousemove $(($2 + 40)) 238 click 1; }
fill "$alice" 0 "alice passphrase"
sleep 6
"$bin" --data-dir "$work/data" --name Bob --room demo >/dev/null 2>&1 &
sleep 4
bob=$(xdotool search --name e2e-chat | grep -v "^$alice$" | head -1)
xdotool windowmove "$bob" 1000 0
sleep 1
fill "$bob" 1000 "bob passphrase"
sleep 10
say() { xdotool windowfocus --sync "$1"; xdotool mousemove $(($2 + 300)) 618 click 1; sleep 0.3; xdotool type --window "$1" --delay 15 "$3"; xdotool key --window "$1" Return; sleep 1.5; }
say "$alice" 0 "Hi Bob! Can you read the safety number to me?"
say "$bob" 1000 "Sure, it starts with the emoji I see here."
say "$alice" 0 "Matches mine. Marking you as verified."
xdotool windowfocus --sync "$alice"; xdotool mousemove 712 613 click 1; sleep 1.5
say "$bob" 1000 "Great, see you at lunch."
sleep 2
xwd -root -silent | convert xwd:- -crop 2000x645+0+0 +repage -resize 1600x docs/screenshot.png
echo "wrote docs/screenshot.png"
