#!/usr/bin/env bash
# The main job: set up, export the embedded all-MiniLM-L6-v2 with encexport attention nodes and check it in
# ONNX Runtime against the unmodified PyTorch model. Extra arguments go to `encexport export`.
#
#   scripts/run.sh                       # -> out/all-MiniLM-L6-v2/model.onnx + report.json
#   scripts/run.sh --exporter legacy --out out/legacy
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=setup.sh
source "$root/scripts/setup.sh"
cd "$root"
args=("$@")
case " ${args[*]-} " in *" --out "*) ;; *) args+=(--out out/all-MiniLM-L6-v2 --force) ;; esac
exec encexport export --model all-MiniLM-L6-v2 "${args[@]}"
