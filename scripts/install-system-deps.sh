#!/usr/bin/env bash
# Installs the system packages the project needs, on Debian/Ubuntu, only when missing.
#   --runtime   what a window needs at run time (OpenGL, X11/Wayland, xkbcommon, fonts)
#   --xvfb      a virtual X server and software OpenGL, for screenshots and GUI runs in CI
# Building needs no -dev package: eframe's glow/winit back ends load these libraries at run time.
set -euo pipefail

want=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
for arg in "$@"; do
  case "$arg" in
    --runtime)
      have_lib 'libGL.so.1' || want+=(libgl1)
      have_lib 'libEGL.so.1' || want+=(libegl1)
      have_lib 'libxkbcommon.so.0' || want+=(libxkbcommon0)
      have_lib 'libxkbcommon-x11.so.0' || want+=(libxkbcommon-x11-0)
      have_lib 'libX11-xcb.so.1' || want+=(libx11-xcb1)
      have_lib 'libXcursor.so.1' || want+=(libxcursor1)
      have_lib 'libXrandr.so.2' || want+=(libxrandr2)
      have_lib 'libXi.so.6' || want+=(libxi6)
      have_lib 'libwayland-client.so.0' || want+=(libwayland-client0)
      ;;
    --xvfb)
      command -v Xvfb >/dev/null || want+=(xvfb)
      command -v xwd >/dev/null || want+=(x11-apps)
      have_lib 'swrast_dri.so' || [ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || want+=(libgl1-mesa-dri)
      ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

[ ${#want[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Please install the equivalents of: ${want[*]}" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${want[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}"
