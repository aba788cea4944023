#!/usr/bin/env bash
# The CPU reliability checks under AddressSanitizer + UndefinedBehaviorSanitizer: builds the host-only sanitized
# variant of our libraries (plugins/CMakeLists.txt, ENCEXPORT_SANITIZE) in build/sanitize, then runs
#   1. the TensorRT field/blob fuzz of encexport_trt_harness (registration, call sequence, rejections, fuzz), per seed;
#   2. the ONNX Runtime op's fuzz and CPU op tests (pytest in a python with the ASan runtime preloaded);
# and writes the full log and a short summary (commit, clean tree, cases, sanitizer reports) to the results folder.
# Exit code 1 on any failed run or any sanitizer report. CI runs it from .ci/run.
#
#   ENCEXPORT_SANITIZE_SEEDS="1 2 3"    harness fuzz seeds            (default: the documented 1 2 3)
#   ENCEXPORT_SANITIZE_CASES=20000      harness fuzz cases per seed   (default: the documented 20,000)
#   ENCEXPORT_FUZZ_CASES=2000           ORT fuzz cases                (default: the test's 2,000)
#   ENCEXPORT_SANITIZE_RESULTS=DIR      where cpu-sanitize.log and cpu-sanitize-summary.md go (default bench/results)
#   ENCEXPORT_SANITIZE=address,undefined  the -fsanitize= list;  JOBS=2  build jobs;  PYTHON  (default .venv's)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sanitizers="${ENCEXPORT_SANITIZE:-address,undefined}"
seeds="${ENCEXPORT_SANITIZE_SEEDS:-1 2 3}"
cases="${ENCEXPORT_SANITIZE_CASES:-20000}"
ort_cases="${ENCEXPORT_FUZZ_CASES:-2000}"
results="${ENCEXPORT_SANITIZE_RESULTS:-$root/bench/results}"
build="$root/build/sanitize"
lib="$build/lib"
reports="$build/reports"  # every sanitizer report of every process lands here (log_path)
python="${PYTHON:-$root/.venv/bin/python}"  # PYTHON: an interpreter with the test dependencies, if not .venv's
[ -x "$python" ] || python=python3
# The code this run measures, read before the run writes its own files (the results may be tracked files).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -z "$(git status --porcelain 2>/dev/null)" ]; then tree=clean; else tree=dirty; fi
mkdir -p "$results"
log="$results/cpu-sanitize.log"
summary="$results/cpu-sanitize-summary.md"
rm -rf "$reports" && mkdir -p "$reports"
: >"$log"

say() { echo "[sanitize] $*" | tee -a "$log" >&2; }
step_start=$SECONDS
elapsed() { echo $((SECONDS - step_start)); }

say "commit $commit ($tree tree), -fsanitize=$sanitizers"

# ---- build ----
say "1/3 configure and build the sanitized host-only variant in $build (-j${JOBS:-2})"
t0=$SECONDS
# Debug (-O0 -g): exact stack traces, and a short build. At -O1 the sanitizers' instrumentation of the harness's big
# case tables took ~20x longer to compile (rejections.cpp: 60 s against 2.6 s), while the runs take seconds anyway.
cmake -S plugins -B "$build" -G "Unix Makefiles" -DENCEXPORT_SANITIZE="$sanitizers" -DCMAKE_BUILD_TYPE=Debug \
  -DENCEXPORT_LIB_DIR="$lib" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
cmake --build "$build" -j "${JOBS:-2}" 2>&1 | tee -a "$log" | grep --line-buffered -E '^\[ *[0-9]+%\] (Linking|Built)' >&2 \
  || { tail -n 30 "$log" >&2; exit 1; }
build_s=$((SECONDS - t0))
[ -x "$lib/encexport_trt_harness" ] || { say "the harness was not built (needs the CUDA toolkit headers and the TensorRT headers)"; exit 1; }

export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
failed=0

# ---- 1. TensorRT harness ----
say "2/3 TensorRT harness under the sanitizers: seeds $seeds, $cases fuzz cases each"
t0=$SECONDS
harness_rows=""
for seed in $seeds; do
  out="$build/harness-seed$seed.txt"
  rc=0
  "$lib/encexport_trt_harness" cpu --lib "$lib/libencexport_trt.so" --seed "$seed" --fuzz-cases "$cases" >"$out" 2>&1 || rc=$?
  { echo "---- harness seed $seed (exit $rc)"; cat "$out"; } >>"$log"
  count() { sed -n "s/^count $1: //p" "$out"; }
  n_fail="$(sed -n 's/^failures: //p' "$out")"
  row="| $seed | $(count 'fuzz cases') | $(count 'fuzz judged valid') | $(count 'fuzz judged invalid') | $(count 'fuzz verdict mismatches') | ${n_fail:-no summary} | $rc |"
  harness_rows+="$row"$'\n'
  say "   seed $seed: $(count 'fuzz cases') cases, $(count 'fuzz verdict mismatches') verdict mismatches, failures ${n_fail:-?}, exit $rc"
  [ "$rc" = 0 ] || failed=1
done
harness_s=$((SECONDS - t0))

# ---- 2. ONNX Runtime op in python ----
# Python is not built with ASan, so the runtime is preloaded (it must come first), and with it libstdc++ (ASan
# resolves __cxa_throw at start-up; python itself does not load libstdc++). Python's own allocations are never
# freed at exit by design: leak detection would only report those.
say "3/3 ONNX Runtime op tests and fuzz ($ort_cases cases) with the sanitized library, in python"
t0=$SECONDS
pytest_dir="$build/pytest"
rc=0
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so.6)" \
ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0" ENCEXPORT_LIB_DIR="$lib" ENCEXPORT_FUZZ_CASES="$ort_cases" \
  "$python" -m pytest -q -p no:cacheprovider --basetemp="$pytest_dir" \
  tests/plugins/test_ort_fuzz.py tests/plugins/test_ort_op.py tests/plugins/test_ort_packed_qkv.py \
  tests/plugins/test_ort_bias.py >"$build/pytest.txt" 2>&1 || rc=$?
{ echo "---- pytest (exit $rc)"; cat "$build/pytest.txt"; } >>"$log"
pytest_line="$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$build/pytest.txt" | tail -n 1 | tr -d '=' | xargs)"
say "   pytest: ${pytest_line:-no result line}, exit $rc"
[ "$rc" = 0 ] || failed=1
ort_totals="$("$python" - "$pytest_dir/reliability0/ort_fuzz_summary.json" <<'EOF'
import json, sys
try:
    t = json.load(open(sys.argv[1]))["totals"]
except (OSError, KeyError, ValueError):
    print("no fuzz summary"); sys.exit()
print(f"{t['cases']} cases ({t['packed_qkv']} in the packed q|k|v form), {t['accepted']} accepted and "
      f"{t['refused']} refused as expected by each case, {t['crashed']} crashed, {t['wrong']} wrong")
EOF
)"
ort_s=$((SECONDS - t0))

# ---- reports ----
for f in "$reports"/*; do [ -e "$f" ] && { echo "---- sanitizer report $f"; cat "$f"; } >>"$log"; done
errors="$(cat "$reports"/* 2>/dev/null | grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' || true)"
[ "$errors" = 0 ] || failed=1
total_s=$(elapsed)

cat >"$summary" <<EOF
# CPU sanitizer run (scripts/sanitize.sh)

- Code: commit \`$commit\`, $tree tree. Sanitizers: \`-fsanitize=$sanitizers\` (GCC $(gcc -dumpversion)), the host-only
  variant (plugins/CMakeLists.txt, \`ENCEXPORT_SANITIZE\`): CPU kernel, ONNX Runtime op, TensorRT plugin and harness.
- **Sanitizer reports: $errors** (AddressSanitizer, LeakSanitizer in the harness, UndefinedBehaviorSanitizer with
  halt_on_error). Result: **$([ "$failed" = 0 ] && echo passed || echo FAILED)**.
- Time: ${total_s} s in all on $(nproc) cores: build ${build_s} s, harness ${harness_s} s, python ${ort_s} s.
- CI (\`.ci/run\`, 2 cores) runs the script with its defaults, the full documented counts below: the runs take
  seconds, the build most of the step. Smaller runs: \`ENCEXPORT_SANITIZE_SEEDS\`, \`ENCEXPORT_SANITIZE_CASES\`,
  \`ENCEXPORT_FUZZ_CASES\`.

## TensorRT harness (\`encexport_trt_harness cpu\`, $cases fuzz cases per seed)

Each run also covers registration, the call sequence of 13 node configurations, and the rejection table.

| seed | fuzz cases | judged valid | judged invalid | verdict mismatches | failures | exit |
|---|---|---|---|---|---|---|
${harness_rows%$'\n'}

## ONNX Runtime op (python with the ASan runtime preloaded, leak detection off)

- \`tests/plugins/test_ort_fuzz.py\`: $ort_totals.
- With \`test_ort_op.py\`, \`test_ort_packed_qkv.py\`, \`test_ort_bias.py\`: ${pytest_line:-no result}.

Full log: \`$(basename "$log")\` next to this file.
EOF
say "summary: $summary ($errors sanitizer reports, ${total_s} s)"
sed -i "s|$root/||g" "$log"  # paths relative to the checkout: the log may be committed with the summary
[ "$failed" = 0 ] || { say "FAILED: see $log"; exit 1; }
