#!/usr/bin/env bash
# One entry for a fresh checkout: creates .venv, installs stockapp with its dependencies, then
#   scripts/dev.sh run [stockapp args...]   opens the app (default: on the bundled AAPL sample)
#   scripts/dev.sh test [pytest args...]    runs the whole test suite headless
# torch: STOCKAPP_TORCH (default torch==2.13.0) is installed first. On Linux, PyPI's torch wheel
# is the CUDA build (runs on CPU too); set STOCKAPP_TORCH_INDEX=https://download.pytorch.org/whl/cpu
# for the small CPU-only build, or .../whl/cu128 for a specific CUDA version.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${STOCKAPP_TORCH:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
pip_install() { .venv/bin/python -m pip install --disable-pip-version-check -q "$@"; }
if [ -n "${STOCKAPP_TORCH_INDEX:-}" ]; then
  pip_install "$TORCH" --index-url "$STOCKAPP_TORCH_INDEX"
else
  pip_install "$TORCH"
fi
cmd=${1:-run}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    pip_install -e .
    if [ $# -eq 0 ]; then set -- gui --sample AAPL; fi
    exec .venv/bin/stockapp "$@"
    ;;
  test)
    pip_install -e ".[test]"
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest -q "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh run|test [args...]" >&2
    exit 2
    ;;
esac
