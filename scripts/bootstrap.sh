#!/usr/bin/env bash
# AV Studio set-up in one step, on a fresh Debian/Ubuntu machine with Python 3.11 or 3.12.
#
#   bash scripts/bootstrap.sh app    install what is missing, then open the editor on the demo project
#   bash scripts/bootstrap.sh test   install what is missing, then run the whole test suite
#
# What it does: checks Python, installs the system libraries Qt and QtMultimedia need (apt-get, as
# root or through sudo; otherwise it prints the command and stops), makes .venv, installs PyTorch
# (CPU build unless a GPU is present or AVSTUDIO_TORCH=cuda), then AV Studio with its pinned
# dependencies. A stamp skips the Python install when nothing changed.
#
# Environment:
#   AVSTUDIO_TORCH=cpu|cuda     force the PyTorch flavour (default: cuda if nvidia-smi works, else cpu)
#   AVSTUDIO_TORCH_INDEX=URL    a PyTorch wheel index for pip (e.g. PyTorch's CPU-only index)
#   AVSTUDIO_PYTHON=python3.12  the interpreter to build .venv with
set -euo pipefail

mode="${1:-app}"
[ $# -gt 0 ] && shift
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
say() { printf '\033[1m[avstudio]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case "$mode" in app|test) ;; *) die "usage: bash scripts/bootstrap.sh app|test [args]";; esac

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1; fi
}

apt_install() {
  local pkgs=("$@")
  command -v apt-get >/dev/null 2>&1 || die "Missing system packages: ${pkgs[*]}. Install them with your package manager, then run this again."
  say "Installing system packages: ${pkgs[*]}"
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null; }; then
    die "Could not install system packages. Run:  sudo apt-get install -y ${pkgs[*]}  and then this again."
  fi
}

# ---- 1. Python 3.11 or 3.12 with venv -------------------------------------------------------------
py_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; }
PY="${AVSTUDIO_PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then PY="$cand"; break; fi
  done
fi
if [ -z "$PY" ]; then
  apt_install python3 python3-venv python3-dev
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then PY="$cand"; break; fi
  done
  [ -n "$PY" ] || die "AV Studio needs Python 3.11 or 3.12 with venv; this system's python3 is $(python3 --version 2>&1). Install python3.11 or python3.12 and set AVSTUDIO_PYTHON."
fi

# ---- 2. System libraries Qt (xcb, EGL, fonts) and QtMultimedia (PulseAudio, ALSA) need ----------------
# soname:package[|alternative for newer Ubuntu]
QT_LIBS="libEGL.so.1:libegl1 libGL.so.1:libgl1 libxkbcommon.so.0:libxkbcommon0
libxkbcommon-x11.so.0:libxkbcommon-x11-0 libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3
libglib-2.0.so.0:libglib2.0-0t64|libglib2.0-0 libX11-xcb.so.1:libx11-xcb1 libxcb-cursor.so.0:libxcb-cursor0
libxcb-icccm.so.4:libxcb-icccm4 libxcb-image.so.0:libxcb-image0 libxcb-keysyms.so.1:libxcb-keysyms1
libxcb-randr.so.0:libxcb-randr0 libxcb-render-util.so.0:libxcb-render-util0 libxcb-shape.so.0:libxcb-shape0
libxcb-xinerama.so.0:libxcb-xinerama0 libxcb-xkb.so.1:libxcb-xkb1 libpulse.so.0:libpulse0
libpulse-mainloop-glib.so.0:libpulse-mainloop-glib0 libasound.so.2:libasound2t64|libasound2"
missing=()
libs_known="$(ldconfig -p 2>/dev/null || true)"
for entry in $QT_LIBS; do
  so="${entry%%:*}"; pkgs="${entry#*:}"
  if ! grep -q "$so" <<<"$libs_known"; then
    pick="${pkgs%%|*}"
    if [[ "$pkgs" == *"|"* ]] && command -v apt-cache >/dev/null 2>&1; then
      for p in ${pkgs//|/ }; do
        if apt-cache show "$p" >/dev/null 2>&1; then pick="$p"; break; fi
      done
    fi
    missing+=("$pick")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# ---- 3. The virtual environment and Python packages ----------------------------------------------
stamp="$VENV/.avstudio-install-stamp"
want="$( (cat pyproject.toml scripts/bootstrap.sh; echo "${AVSTUDIO_TORCH:-}") | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  say "Creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=("$VENV/bin/python" -m pip install --disable-pip-version-check)
  "${pip[@]}" -q --upgrade pip
  flavour="${AVSTUDIO_TORCH:-}"
  if [ -z "$flavour" ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then flavour=cuda; else flavour=cpu; fi
  fi
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    idx=()
    [ -n "${AVSTUDIO_TORCH_INDEX:-}" ] && idx=(--index-url "$AVSTUDIO_TORCH_INDEX")
    if [ "$flavour" = cuda ]; then
      say "Installing PyTorch with CUDA (several GB)"
      "${pip[@]}" "${idx[@]}" torch
    else
      # 2.13.0 has a local CPU-only wheel on our build machines; elsewhere set AVSTUDIO_TORCH_INDEX to
      # PyTorch's CPU wheel index to avoid downloading the CUDA libraries.
      say "Installing PyTorch (CPU)"
      "${pip[@]}" "${idx[@]}" "torch==2.13.0"
    fi
  fi
  say "Installing AV Studio and its dependencies"
  "${pip[@]}" -e ".[test]"
  # Only the GE2E speaker-encoder weights of Resemblyzer are used (for the speaker-similarity metric);
  # its own code needs webrtcvad, a C extension, so it is installed without dependencies.
  "${pip[@]}" -q --no-deps "resemblyzer==0.1.4"
  "$VENV/bin/python" -c "import PySide6.QtMultimedia, pyqtgraph, torch, mediapipe, pyworld, librosa, av, cv2, soundfile, safetensors, qasync, pocketsphinx" \
    || die "The packages installed but do not import together (see the error above)."
  echo "$want" > "$stamp"
fi

# ---- 4. Run ---------------------------------------------------------------------------------------
if [ "$mode" = test ]; then
  export QT_QPA_PLATFORM=offscreen
  say "Checking the layer rules (import-linter)"
  "$VENV/bin/lint-imports" --no-cache
  say "Running the test suite"
  set +e
  "$VENV/bin/python" -m pytest "$@"
  code=$?
  set -e
  [ $code -eq 5 ] && die "pytest collected no tests."
  exit $code
else
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    die "No display found (DISPLAY/WAYLAND_DISPLAY unset). Run this on a desktop session, or under xvfb-run."
  fi
  exec "$VENV/bin/avstudio" demo "$@"
fi
