#!/usr/bin/env bash
# The GPU check: build the plugins for sm_90, run the GPU tests, compute-sanitizer (memcheck, racecheck,
# initcheck, synccheck) over a reduced grid, the profile, and the benchmark (kernel level, runtime level in
# ONNX Runtime, end to end).
#
#   scripts/gpu_check.sh            # from the repo root on a machine with an NVIDIA GPU (sm_80+)
#   ENCEXPORT_GPU_STEPS=build,tests scripts/gpu_check.sh   # a subset of: build tests models sanitize profile bench e2e
#
# The steps can run in separate calls on the same machine (the build stays in build/ and encexport/_lib). Every
# result names the commit it measured: from git, or from ENCEXPORT_COMMIT / ENCEXPORT_TREE_CLEAN where the
# checkout has no history (see encexport/bench/provenance.py).
#
# Needs the pinned headers in build/third_party (scripts/fetch_headers.sh) and, for the real-MiniLM test,
# .gpu_models from scripts/prepare_gpu_models.py (carry both to the GPU machine). Writes build.log, pytest.log,
# gpu_results.json, sanitizer.log, env.txt, summary.md and perf/ (the benchmark: performance.md, bench.json,
# ratio.png, e2e.png) into $OUT (default build/gpu_check); on the device machine, where
# $OUT comes back as at most 8 files, they travel as gpu_check.tgz with summary.md and performance.md beside it.
# The ONNX Runtime CUDA tests and benchmark rows run when onnxruntime-gpu is importable (or staged in
# /tmp/devsite/ort). ENCEXPORT_BENCH_ARGS passes extra arguments to `encexport bench`.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${OUT:-$root/build/gpu_check}"
mkdir -p "$out"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
if [ -f /tmp/devsite/ort/.staged ]; then export PYTHONPATH="/tmp/devsite/ort:$PYTHONPATH"; fi
status=0
step() { printf '[gpu_check] %s\n' "$*" >&2; }
steps=" ${ENCEXPORT_GPU_STEPS:-build tests models sanitize profile bench e2e} "
steps="${steps//,/ }"
wants() { [[ "$steps" == *" $1 "* ]]; }

step "environment"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -n1
  compute-sanitizer --version | head -n1
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  python3 -c 'import onnxruntime as o; print("onnxruntime", o.__version__, o.get_available_providers())' 2>&1 | tail -n1
  python3 -c 'from encexport.bench.provenance import describe, source_revision; print("measured", describe(source_revision()))'
  echo "steps${steps% }"
} > "$out/env.txt" 2>&1
cat "$out/env.txt" >&2

# Build with the system C++ compiler: a toolchain that links libstdc++ statically gives our libraries a second
# C++ runtime next to the one torch and ONNX Runtime load, and iostream formatting inside the cuDNN frontend
# then crashes (two copies of the locale facets). /usr/bin/g++ links libstdc++.so.6 like everything else.
if [ -x /usr/bin/g++ ]; then export CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++; fi

if wants build; then
step "build (sm_90)"
if ! ENCEXPORT_CUDA_ARCHS=90 JOBS="$(nproc)" scripts/build_plugins.sh > "$out/build.log" 2>&1; then
  step "full build failed; retrying without the TensorRT plugin (see build.log)"
  echo "=== retry with ENCEXPORT_WITH_TRT=OFF ===" >> "$out/build.log"
  ENCEXPORT_WITH_TRT=OFF ENCEXPORT_CUDA_ARCHS=90 JOBS="$(nproc)" scripts/build_plugins.sh >> "$out/build.log" 2>&1 || {
    step "build failed"; tail -n 40 "$out/build.log" >&2; exit 1; }
  status=1
fi
fi

if wants tests; then
step "pytest -m gpu tests"
ENCEXPORT_REQUIRE_CUDNN=1 ENCEXPORT_GPU_RESULTS="$out/gpu_results.json" python3 -m pytest -m gpu tests -q -p no:cacheprovider -rs \
  > "$out/pytest.log" 2>&1 || status=1
tail -n 15 "$out/pytest.log" >&2
fi

if wants models; then
step "every model recipe exported (legacy) and checked through ORT CUDA against PyTorch"
: > "$out/models.log"
for model in bert roberta xlm-roberta distilbert vit modernbert; do
  python3 -m encexport export --model "$model" --exporter legacy --out "$root/build/gpu_models/$model" --force \
    --providers CUDAExecutionProvider,CPUExecutionProvider >> "$out/models.log" 2>&1 || status=1
done
grep -E "^(wrote|PASS|FAIL|providers)" "$out/models.log" >&2
fi

if wants sanitize; then
step "compute-sanitizer"
driver=build/plugins/encexport_sanitize_driver
: > "$out/sanitizer.log"
for tool in memcheck racecheck initcheck synccheck; do
  echo "=== $tool ===" >> "$out/sanitizer.log"
  compute-sanitizer --tool "$tool" --error-exitcode 3 "$driver" >> "$out/sanitizer.log" 2>&1 || status=1
done
grep -E "^=== |ERROR SUMMARY|RACECHECK SUMMARY|sanitize_driver:" "$out/sanitizer.log" >&2
fi

if wants profile; then
step "profile: Nsight Compute metrics of each kernel family on the dense benchmark shapes"
if command -v ncu >/dev/null 2>&1; then
  metrics="$(ncu --query-metrics 2>/dev/null | python3 scripts/profile_gpu.py metrics)"
  ncu --profile-from-start off --csv --log-file "$out/ncu.csv" --metrics "$metrics" \
    python3 scripts/profile_gpu.py drive > "$out/profile_calls.json" 2> "$out/profile.log" || status=1
  python3 scripts/profile_gpu.py report "$out/ncu.csv" "$out/profile" "$out/profile_calls.json" >&2 || status=1
else
  step "ncu not found: no profile"
fi
fi

if wants bench; then
  step "benchmark: kernel level (direct calls) and runtime level (ORT sessions)"
  python3 -m encexport bench --out "$out/perf" --force ${ENCEXPORT_BENCH_ARGS:-} > "$out/perf.log" 2>&1 || status=1
  tail -n 40 "$out/perf.log" >&2
fi

if wants e2e; then
  step "end to end: our exports vs the stock ORT exports (optimizer, packing mode, CUDA graphs)"
  python3 -m encexport bench --e2e-only --out "$out/e2e" --force > "$out/e2e.log" 2>&1 || status=1
  tail -n 40 "$out/e2e.log" >&2
fi

python3 scripts/gpu_summary.py "$out" > "$out/summary.md" || status=1
cat "$out/summary.md" >&2
# The device returns at most 8 files: everything goes back in one archive, the two reports beside it.
if [ -n "${OUT:-}" ]; then
  tar czf "$root/build/gpu_check.tgz" -C "$out" . && find "$out" -mindepth 1 -delete && mv "$root/build/gpu_check.tgz" "$out/"
  tar xzf "$out/gpu_check.tgz" -C "$out" ./summary.md
  tar xzf "$out/gpu_check.tgz" -C "$out" ./perf/performance.md 2>/dev/null || true
  tar xzf "$out/gpu_check.tgz" -C "$out" ./e2e/performance.md 2>/dev/null || true
fi
exit $status
