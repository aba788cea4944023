#!/usr/bin/env bash
# Prepare a checkout: a virtual environment in .venv with encexport installed editable with its pinned dependencies
# (the [cpu] ONNX Runtime and the test tools); the install compiles the plugin libraries through CMake
# (scikit-build-core), later runs rebuild them incrementally. Idempotent; sourced by scripts/run.sh and
# scripts/test.sh.
#
#   ENCEXPORT_PYTHON=python3.11  interpreter for the venv (default: python3)
#   ENCEXPORT_WITH_CUDA=OFF      skip the CUDA kernels (machines without nvcc: also automatic)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${ENCEXPORT_PYTHON:-python3}"

if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$py" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.encexport-deps
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ plugins/CMakeLists.txt -nt "$stamp" ]; then
  echo "[setup] installing encexport (editable) and its pinned dependencies (torch 2.13.0 CPU build, ONNX Runtime" \
       "CPU); the install compiles the plugin libraries: several minutes the first time (log: .venv/install.log)" >&2
  python -m pip install -q --upgrade pip
  defines=()
  if [ "${ENCEXPORT_WITH_CUDA:-ON}" = "OFF" ]; then defines=(-Ccmake.define.ENCEXPORT_WITH_CUDA=OFF); fi
  # -v for CMake's progress lines, filtered from pip's own output; the whole log stays in .venv/install.log.
  set +e
  python -m pip install -v -e ".[cpu,test]" "${defines[@]}" 2>&1 | tee .venv/install.log \
    | grep --line-buffered -E '^\s*\[ *[0-9]+%\]|^\*\*\* ' >&2
  installed="${PIPESTATUS[0]}"
  set -e
  if [ "$installed" != 0 ]; then
    tail -n 40 .venv/install.log >&2
    echo "[setup] pip install failed: the lines above and .venv/install.log say why" >&2
    exit 1
  fi
  touch "$stamp"
fi
echo "[setup] plugin libraries (incremental rebuild)" >&2
python -m encexport build-plugins
