#!/usr/bin/env bash
# Rebuild the plugin libraries of this checkout (incremental): `encexport build-plugins`, in the set-up's venv.
#   ENCEXPORT_CUDA_ARCHS="80;89;90;100" scripts/build_plugins.sh   # the full set (GPU machine, releases)
#   ENCEXPORT_WITH_CUDA=OFF scripts/build_plugins.sh               # no nvcc: CPU op only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$root/.venv/bin/python"
[ -x "$python" ] || python=python3
cd "$root" && PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m encexport build-plugins "$@"
