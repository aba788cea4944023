#!/usr/bin/env bash
# The GPU check (encexport/gpu_check): build for sm_90, the GPU tests, every recipe through ORT CUDA,
# compute-sanitizer, the Nsight Compute profile, the benchmark and the end-to-end comparison, into one folder.
#
#   scripts/gpu_check.sh                                   # from the repo root on a machine with an NVIDIA GPU (sm_80+)
#   ENCEXPORT_GPU_STEPS=build,tests scripts/gpu_check.sh   # a subset of: build tests models sanitize ort-sanitize
#                                                          # profile bench e2e load
#
# Runs from a plain checkout (no install needed); needs the pinned headers in build/third_party and, for the
# real-MiniLM test, .gpu_models from `python -m encexport.gpu_check prepare` (carry both to the GPU machine).
# The `load` step also needs .gpu_models/load/stock (same prepare) and a tritonserver (nvidia-pytriton). A copy
# without .git names its commit through ENCEXPORT_COMMIT / ENCEXPORT_TREE_CLEAN (`python -m encexport.provenance`
# prints them for this checkout). An onnxruntime-gpu staged in /tmp/devsite/ort, a nvidia-pytriton staged in
# /tmp/devsite/tools and a flash-attn-4 (benchmark peer) staged in /tmp/devsite/fa4 are used when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
source "$root/scripts/staged_paths.sh"
exec python3 -m encexport.gpu_check "$@"
