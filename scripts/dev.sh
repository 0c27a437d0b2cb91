#!/usr/bin/env bash
# One entry for a fresh checkout: creates .venv, installs stockapp with its dependencies, then
#   scripts/dev.sh run [stockapp args...]   opens the app (default: on the bundled AAPL sample)
#   scripts/dev.sh test [pytest args...]    runs the whole test suite headless
# torch: STOCKAPP_TORCH (default torch==2.13.0) is installed first. On Linux, PyPI's torch wheel
# is the CUDA build (runs on CPU too); set STOCKAPP_TORCH_INDEX=https://download.pytorch.org/whl/cpu
# for the small CPU-only build, or .../whl/cu128 for a specific CUDA version.
# pip runs only when the install would change: on a fresh .venv, or when pyproject.toml, the torch
# choice or the extras differ from the last install (a hash kept in .venv/.stockapp-installed-*).
# STOCKAPP_REINSTALL=1 forces it (say, after uninstalling a package by hand).
# Linux: before the window opens, the X11 libraries Qt needs and a bare system lacks are
# installed with apt-get (as root, or through sudo); STOCKAPP_NO_SYSTEM_INSTALL=1 prints the
# command instead. Offscreen runs (QT_QPA_PLATFORM=offscreen, as in `test`) never need them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${STOCKAPP_TORCH:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
pip_install() { .venv/bin/python -m pip install --disable-pip-version-check -q "$@"; }
# The install's identity: pyproject.toml, the torch requirement and index, and the extras ($1).
install_key() {
  .venv/bin/python -c 'import hashlib, sys
h = hashlib.sha256(open("pyproject.toml", "rb").read())
h.update("\0".join(sys.argv[1:]).encode())
print(h.hexdigest())' "$TORCH" "${STOCKAPP_TORCH_INDEX:-}" "$1"
}
# ensure_installed EXTRAS: torch, then stockapp editable with EXTRAS ("" or "test"), unless the
# stamp says exactly that is installed already.
ensure_installed() {
  local extras=$1 key stamp=".venv/.stockapp-installed-${1:-run}"
  key=$(install_key "$extras")
  if [ "${STOCKAPP_REINSTALL:-}" != 1 ] && [ -x .venv/bin/stockapp ] && [ -f "$stamp" ] \
    && [ "$(cat "$stamp")" = "$key" ]; then
    return 0
  fi
  rm -f .venv/.stockapp-installed-*
  if [ -n "${STOCKAPP_TORCH_INDEX:-}" ]; then
    pip_install "$TORCH" --index-url "$STOCKAPP_TORCH_INDEX"
  else
    pip_install "$TORCH"
  fi
  pip_install -e ".${extras:+[$extras]}"
  echo "$key" > "$stamp"
  if [ -n "$extras" ]; then  # stockapp[test] is stockapp plus the test tools: good for run too
    install_key "" > .venv/.stockapp-installed-run
  fi
}
# Qt's X11 (xcb) plugin links against system libraries PySide6 does not bundle, and a bare
# Debian/Ubuntu lacks some. The check (stockapp.gui.xcb_libs, which asks ldd) names the missing
# ones; install exactly those, saying so first. Where that cannot happen (no apt-get, neither root
# nor sudo) or may not (STOCKAPP_NO_SYSTEM_INSTALL=1), print the one install line and stop.
ensure_system_libraries() {
  local packages sudo=""
  packages=$(.venv/bin/python -m stockapp.gui.xcb_libs --apt-packages)
  [ -n "$packages" ] || return 0
  if [ "${STOCKAPP_NO_SYSTEM_INSTALL:-}" = 1 ] || ! command -v apt-get > /dev/null; then
    stop_with_install_line
  elif [ "$(id -u)" != 0 ]; then
    command -v sudo > /dev/null || stop_with_install_line
    sudo=sudo
  fi
  echo "Installing $packages with ${sudo:+sudo }apt-get: Qt needs these X11 libraries to open" \
    "a window (STOCKAPP_NO_SYSTEM_INSTALL=1 prints the command instead)." >&2
  # shellcheck disable=SC2086  # $packages is a list of words
  if apt_get install -y -q --no-install-recommends $packages; then
    return 0
  fi
  case $apt_errors in
    *"Unable to locate package"* | *"apt-get update"*)  # no package lists yet, or stale ones
      echo "Refreshing apt's package lists (apt-get update) and trying once more." >&2
      # shellcheck disable=SC2086
      if apt_get update -q && apt_get install -y -q --no-install-recommends $packages; then
        return 0
      fi
      ;;
  esac
  echo "apt-get could not install $packages (it said: $(apt_reason)); the Python environment" \
    "is ready and unchanged, so fix that and run scripts/dev.sh run again." >&2
  exit 1
}
# The check prints its one line, the install command for this system, and the window stays shut.
stop_with_install_line() {
  .venv/bin/python -m stockapp.gui.xcb_libs
  exit 1
}
# apt_get ARGS: apt-get ARGS (through sudo when the caller's $sudo says so), its output shown and
# its complaints kept in $apt_errors, shown too when it succeeds. sudo asks for its password on
# the terminal, as always.
apt_get() {
  local status=0
  { apt_errors=$($sudo apt-get "$@" 2>&1 1>&3 3>&-) || status=$?; } 3>&1
  if [ "$status" = 0 ] && [ -n "$apt_errors" ]; then
    printf '%s\n' "$apt_errors" >&2
  fi
  return "$status"
}
# apt_reason: apt's first "E: " line, else the last line of its complaints.
apt_reason() {
  local line last=""
  while IFS= read -r line; do
    case $line in
      "E: "*) echo "${line#E: }" && return ;;
    esac
    [ -z "$line" ] || last=$line
  done <<< "$apt_errors"
  echo "${last:-no reason given}"
}
cmd=${1:-run}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    ensure_installed ""
    if [ $# -eq 0 ]; then set -- gui --sample AAPL; fi
    if [ "$1" = gui ]; then ensure_system_libraries; fi
    exec .venv/bin/stockapp "$@"
    ;;
  test)
    ensure_installed test
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest -q "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh run|test [args...]" >&2
    exit 2
    ;;
esac
