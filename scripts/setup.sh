#!/usr/bin/env bash
# Prepare a checkout: a virtual environment in .venv with encexport (editable) and its pinned dependencies,
# then the plugin libraries. Idempotent; sourced by scripts/run.sh and scripts/test.sh.
#
#   ENCEXPORT_PYTHON=python3.11  interpreter for the venv (default: python3)
#   ENCEXPORT_WITH_CUDA=OFF      skip the CUDA kernels (machines without nvcc)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${ENCEXPORT_PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$py" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.encexport-deps
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing encexport and its pinned dependencies (torch 2.13.0 CPU build)" >&2
  python -m pip install -q --upgrade pip
  python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if ! command -v nvcc >/dev/null 2>&1; then
  export ENCEXPORT_WITH_CUDA="${ENCEXPORT_WITH_CUDA:-OFF}"
fi
echo "[setup] building the plugin libraries" >&2
bash scripts/build_plugins.sh
