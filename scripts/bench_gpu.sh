#!/usr/bin/env bash
# The attention benchmark on the GPU machine: our kernels (direct and through the ORT op) vs torch SDPA
# (flash / cuDNN / mem-efficient), torch varlen_attn, flash-attn-4 where installed, ORT MultiHeadAttention / PackedMultiHeadAttention /
# Attention-23, in one process. Expects the plugins built (scripts/build_plugins.sh) and, for the ORT rows,
# onnxruntime-gpu importable. Writes performance.md, bench.json and ratio.png to ${OUT:-bench/results}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
for staged in ort fa4; do  # onnxruntime-gpu and flash-attn-4 (a peer) where staged
  if [ -f "/tmp/devsite/$staged/.staged" ]; then export PYTHONPATH="/tmp/devsite/$staged:$PYTHONPATH"; fi
done
# flash-attn-4's CuTe DSL finds its `cutlass` package through a .pth file, which a --target install does not run.
if [ -d /tmp/devsite/fa4/nvidia_cutlass_dsl/dsl_packages ]; then
  export PYTHONPATH="/tmp/devsite/fa4/nvidia_cutlass_dsl/dsl_packages:$PYTHONPATH"
fi
python3 -m encexport bench --out "${OUT:-bench/results}" --force "$@"
