#!/usr/bin/env bash
# One prepared check of the CUDA path, for a machine with an NVIDIA GPU and PyTorch installed:
# the CUDA tests, then the training benchmark on the standard workload and on a 5,000-window
# epoch (target <= 40 ms per epoch on an H100/H200). Results go to $OUT (default out/gpu).
#
#   scripts/gpu_check.sh                # uses python3; PY=/path/to/python to choose another
#
# Needs only torch, numpy, pandas, scipy, safetensors, platformdirs and pytest (no Qt): on a
# bare GPU box without platformdirs, install or carry its wheel first.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/gpu.txt"
status=0
"$PY" -m pytest -q -p no:cacheprovider -m cuda tests/models 2>&1 | tee "$OUT/cuda_tests.log" || status=1
"$PY" scripts/bench_train.py --device cuda --windows 5000 --epochs 6 --repeats 3 \
  | tee "$OUT/bench_5000.json" || status=1
"$PY" scripts/bench_train.py --device cuda --epochs 6 --repeats 3 | tee "$OUT/bench_aapl.json" \
  || status=1
exit $status
