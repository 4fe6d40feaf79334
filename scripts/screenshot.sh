#!/usr/bin/env bash
# Takes the README screenshots with real windows under Xvfb, driven with xdotool like a person
# (passphrases, Connect, a short conversation, "Mark as verified"):
#   docs/screenshot.png          Alice and Bob verified, chatting (a Chinese and a Hebrew message)
#   docs/screenshot-warning.png  Alice's window when another identity, also calling itself "Bob",
#                                takes Bob's room: the warning names Bob
# The first window starts the relay in-process (default address); the others find it.
# Needs: ./scripts/install-system-deps.sh --runtime --xvfb, plus xdotool and ImageMagick
# (installed below when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh --runtime --xvfb
if ! command -v xdotool >/dev/null || ! convert -version 2>/dev/null | grep -q ImageMagick; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends xdotool imagemagick
fi
cargo build --release --locked -p egui-client
work=$(mktemp -d)
disp=${XVFB_DISPLAY:-:99}
export DISPLAY=$disp LIBGL_ALWAYS_SOFTWARE=1 XDG_DATA_HOME="$work/xdg"
Xvfb "$disp" -screen 0 2000x700x24 >/dev/null 2>&1 &
pids=($!)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
sleep 1
bin=${CARGO_TARGET_DIR:-target}/release/egui-client

# open_window NAME ROOM DATA X: starts a window and moves it to x offset X; its id is in $win.
open_window() {
  # Profiles go under the temporary directory only, never into the repository.
  case "$3" in "$work"/*) ;; *) echo "data dir $3 is not under $work" >&2; exit 1 ;; esac
  "$bin" --data-dir "$3" --name "$1" --room "$2" --no-notifications >/dev/null 2>&1 &
  local pid=$!
  pids+=("$pid")
  win=""
  for _ in $(seq 50); do
    win=$(xdotool search --all --pid "$pid" --name e2e-chat 2>/dev/null | tail -1 || true)
    [ -n "$win" ] && break
    sleep 0.2
  done
  [ -n "$win" ] || { echo "no window for $1" >&2; exit 1; }
  xdotool windowmove "$win" "$4" 0
  sleep 1.5
}
# unlock WIN X PASS: passphrase twice (a new identity), Enter connects.
unlock() {
  xdotool windowfocus --sync "$1"
  xdotool mousemove $(($2 + 325)) 116 click 1; sleep 0.3
  xdotool type --window "$1" --delay 40 "$3"; xdotool key --window "$1" Tab
  xdotool type --window "$1" --delay 40 "$3"; xdotool key --window "$1" Return
}
# say WIN X TEXT: types into the message box and sends (slowly: xdotool loses non-Latin
# characters typed fast).
say() {
  xdotool windowfocus --sync "$1"
  xdotool mousemove $(($2 + 380)) 625 click 1; sleep 0.3
  xdotool type --window "$1" --delay 250 "$3"; xdotool key --window "$1" Return
  sleep 1.2
}
# click WIN X Y
click() { xdotool windowfocus --sync "$1"; xdotool mousemove $(($2 + $3)) "$4" click 1; sleep 1; }

open_window Alice demo "$work/data" 0; alice=$win
unlock "$alice" 0 "alice passphrase"
sleep 8
open_window Bob demo "$work/data" 1000; bob=$win; bob_pid=${pids[-1]}
unlock "$bob" 1000 "bob passphrase"
sleep 10
say "$alice" 0 "Hi Bob! Read me the safety number?"
say "$bob" 1000 "Sure, same digits here. 你好！こんにちは"
say "$alice" 0 "שלום עולם! Matches, marking you verified."
click "$alice" 0 732 614   # Mark as verified
click "$bob" 1000 732 614
say "$bob" 1000 "Verified too. See you at lunch."
sleep 1
xwd -root -silent | convert xwd:- -crop 2000x660+0+0 +repage -resize 1600x docs/screenshot.png
echo "wrote docs/screenshot.png"

# Bob leaves and closes his window; another identity calling itself Bob joins the room.
click "$bob" 1000 966 12   # Leave
kill "$bob_pid"; sleep 2
open_window Bob demo "$work/elsewhere" 1000; mallory=$win
unlock "$mallory" 1000 "mallory passphrase"
sleep 10
xwd -root -silent | convert xwd:- -crop 1000x660+0+0 +repage docs/screenshot-warning.png
echo "wrote docs/screenshot-warning.png"
