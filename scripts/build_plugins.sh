#!/usr/bin/env bash
# Build the plugin libraries into encexport/_lib/ (libencexport_ort.so, and with CUDA + TensorRT headers
# libencexport_trt.so and the test harness).
#
#   scripts/build_plugins.sh                 # CPU/CI build: CUDA code for sm_90 only
#   ENCEXPORT_CUDA_ARCHS="80;89;90;100" scripts/build_plugins.sh   # the full set (GPU machine, releases)
#   ENCEXPORT_WITH_CUDA=OFF scripts/build_plugins.sh               # no nvcc: CPU op only
#
# Fetches the pinned headers first (cached). Re-running rebuilds only what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ENCEXPORT_BUILD_DIR:-$root/build/plugins}"
jobs="${JOBS:-$(nproc)}"

echo "[build_plugins] 1/3 headers" >&2
"$root/scripts/fetch_headers.sh" "$root/build/third_party" >/dev/null

echo "[build_plugins] 2/3 configure ($build)" >&2
# cuDNN headers for the optional cuDNN backend: the system's, or those of the nvidia-cudnn-cu13 Python package
# (where torch's cuDNN lives). Absent, the backend compiles as a stub that refuses with the fix.
if [ -z "${CUDNN_INCLUDE_DIR:-}" ]; then
  CUDNN_INCLUDE_DIR="$(python3 -c 'import nvidia.cudnn as m, os; print(os.path.join(list(m.__path__)[0], "include"))' \
    2>/dev/null || true)"
  export CUDNN_INCLUDE_DIR
fi
# An explicit $CXX also applies to an existing build folder (CMake re-configures when the compiler changes).
compiler=()
if [ -n "${CXX:-}" ]; then compiler=(-DCMAKE_CXX_COMPILER="$CXX"); fi
cmake -S "$root/plugins" -B "$build" -DCMAKE_BUILD_TYPE=Release "${compiler[@]}" \
  -DENCEXPORT_CUDA_ARCHS="${ENCEXPORT_CUDA_ARCHS:-90}" \
  -DENCEXPORT_WITH_CUDA="${ENCEXPORT_WITH_CUDA:-ON}" \
  -DENCEXPORT_WITH_TRT="${ENCEXPORT_WITH_TRT:-ON}" \
  -DENCEXPORT_THIRD_PARTY="$root/build/third_party" \
  -DENCEXPORT_LIB_DIR="$root/encexport/_lib" >/dev/null

echo "[build_plugins] 3/3 compile (-j$jobs)" >&2
cmake --build "$build" -j "$jobs"
ls -1 "$root/encexport/_lib" >&2
