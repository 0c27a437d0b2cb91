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
cmd=${1:-run}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    ensure_installed ""
    if [ $# -eq 0 ]; then set -- gui --sample AAPL; fi
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
