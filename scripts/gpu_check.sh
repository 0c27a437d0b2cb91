#!/usr/bin/env bash
# The prepared check of the CUDA path, one command from a clean checkout on a bare NVIDIA machine:
#
#   scripts/gpu_check.sh            # PY=/path/to/python3 to start from another interpreter
#
# 1. Makes a virtual environment ($VENV, default /tmp/stockapp-gpu-venv, outside the checkout)
#    with --system-site-packages, so a CUDA build of PyTorch already installed on the machine is
#    used as it is; installs PyTorch only when none with CUDA is importable (PyPI's Linux wheel
#    is the CUDA build).
# 2. Installs what the non-GUI code and its tests need and nothing of Qt: numpy, pandas, scipy,
#    safetensors, platformdirs, pytest; then stockapp itself, editable, without its dependencies
#    (so no PySide6, pyqtgraph or yfinance). On a machine without internet, put the wheels of
#    whatever it lacks in .whl/ first (`pip download platformdirs -d .whl` elsewhere): they are
#    installed from there.
# 3. Runs the CUDA tests (pytest without pytest-qt), the training benchmark on the standard
#    workload and on a 5,000-window epoch (target <= 40 ms per epoch on an H100/H200, >= 5x the
#    plain eager loop on the standard workload), and a refit-every-20 backtest on the GPU.
#
# Everything goes to $OUT (default out/gpu): gpu.txt, install.log, cuda_tests.log,
# bench_5000.json, bench_aapl.json, bench_backtest.json. Exit status 0 only if every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu}
VENV=${VENV:-${TMPDIR:-/tmp}/stockapp-gpu-venv}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if [ ! -x "$VENV/bin/python" ]; then
  "${PY:-python3}" -m venv --system-site-packages "$VENV" \
    || { echo "gpu_check: could not make a virtual environment in $VENV." >&2; exit 1; }
fi
PY="$VENV/bin/python"

# Install the named packages that are not importable yet: from PyPI, else from .whl/.
need() {
  local missing=()
  for pair in "$@"; do
    "$PY" -c "import ${pair%%=*}" 2>/dev/null || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  local from=(--retries 1 --timeout 20)
  [ -d .whl ] && from=(--no-index --find-links .whl)
  "$PY" -m pip install -q --disable-pip-version-check "${from[@]}" "${missing[@]}" \
    || { echo "gpu_check: could not install ${missing[*]}; put their wheels in .whl/." >&2
         return 1; }
}
{
  if ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    "$PY" -c "import torch" 2>/dev/null && echo "the installed torch sees no CUDA GPU"
    need torch=torch || exit 1
  fi
  need numpy=numpy pandas=pandas scipy=scipy safetensors=safetensors \
    platformdirs=platformdirs pytest=pytest || exit 1
  # stockapp itself, editable and without its GUI dependencies; where it cannot be built here
  # (no setuptools offline), the checkout on PYTHONPATH serves the same files.
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
    || echo "editable install failed; using the checkout through PYTHONPATH"
} 2>&1 | tee "$OUT/install.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
  'gpus', torch.cuda.device_count())" | tee -a "$OUT/gpu.txt"
date -u +"date %Y-%m-%dT%H:%M:%SZ" | tee -a "$OUT/gpu.txt"

status=0
# -p no:pytestqt: the machine has no Qt; pyproject tolerates pytest-qt's ini keys without it.
"$PY" -m pytest -q -p no:cacheprovider -p no:pytestqt -m cuda -rs tests/models 2>&1 \
  | tee "$OUT/cuda_tests.log" || status=1
"$PY" scripts/bench_train.py --device cuda --windows 5000 --epochs 6 --repeats 3 \
  | tee "$OUT/bench_5000.json" || status=1
"$PY" scripts/bench_train.py --device cuda --epochs 6 --repeats 3 | tee "$OUT/bench_aapl.json" \
  || status=1
"$PY" scripts/bench_backtest.py --device cuda --refit-every 20 | tee "$OUT/bench_backtest.json" \
  || status=1
echo "gpu_check: $([ $status -eq 0 ] && echo passed || echo FAILED); results in $OUT"
exit $status
