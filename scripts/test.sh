#!/usr/bin/env bash
# Set up, then run the CPU test suite (GPU tests are marked `gpu` and run by scripts/gpu_check.sh).
# Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=setup.sh
source "$root/scripts/setup.sh"
cd "$root"
exec python -m pytest -q "$@"
