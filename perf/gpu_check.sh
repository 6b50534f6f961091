#!/usr/bin/env bash
# The prepared GPU check (perf/gpu_check.py): ViT-B-32 and ViT-L-14, N = 25, default vs paper-like setting,
# fp32 vs bf16, on CUDA; prints one JSON object per run and writes gpu_check.json (or $1). Under 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 VLMSEL_PROGRESS=0
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
timeout 480 "$PY" perf/gpu_check.py --out "${1:-gpu_check.json}"
