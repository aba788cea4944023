#!/usr/bin/env bash
# The attention benchmark on the GPU machine: our kernels (direct and through the ORT op) vs torch SDPA
# (flash / cuDNN / mem-efficient), torch varlen_attn, flash-attn-4 where installed, ORT MultiHeadAttention /
# PackedMultiHeadAttention / Attention-23, in one process. Expects the plugins built (scripts/build_plugins.sh) and, for the ORT rows,
# onnxruntime-gpu importable. Writes performance.md, bench.json and ratio.png to ${OUT:-bench/results}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
source "$root/scripts/staged_paths.sh"
python3 -m encexport bench --out "${OUT:-bench/results}" --force "$@"
