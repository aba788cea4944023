"""≥ 1,000 seeded malformed / hostile / valid nodes through the ORT CPU op, in a subprocess: every case ends in a
correct result or an error naming the problem, never a crash or a hang. About a third of the cases pass q, k, v
as packed q|k|v rows (key and value empty). Writes the outcome summary as JSON."""

import json
import os
import time

from fuzz_judge import failures, judge, run_runner, summarize

# Fixed so CI is reproducible; ENCEXPORT_FUZZ_SEED / ENCEXPORT_FUZZ_CASES explore further locally.
SEED = int(os.environ.get("ENCEXPORT_FUZZ_SEED", "20261125"))
CASES = int(os.environ.get("ENCEXPORT_FUZZ_CASES", "2000"))


def test_ort_op_fuzz(ort_library, reliability_dir):
    out = reliability_dir / "ort_fuzz"
    indices = list(range(CASES))
    start = time.perf_counter()
    proc = run_runner(ort_library, SEED, indices, out, timeout=240)
    seconds = time.perf_counter() - start
    outcomes = judge(SEED, indices, out, proc)
    summary = summarize(outcomes, seed=SEED, library=str(ort_library), runner_exit_code=proc.returncode,
                        runtime_seconds=round(seconds, 1))
    path = reliability_dir / "ort_fuzz_summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nORT fuzz summary ({path}):\n{json.dumps({k: summary[k] for k in summary if k != 'subcategories'}, indent=2)}")
    assert proc.returncode == 0, failures(outcomes)
    assert summary["totals"]["wrong"] == 0, failures(outcomes)
    # The generator must really exercise both sides, or a broken generator could pass vacuously.
    assert summary["totals"]["expected_ok"] >= 400 and summary["totals"]["expected_refuse"] >= 800, summary["totals"]
    assert all(row["cases"] >= 20 for row in summary["categories"].values()), summary["categories"]
    # ... and both input forms: the packed q|k|v form (key and value empty) is a sizeable share of each side.
    assert (summary["totals"]["packed_qkv_expected_ok"] >= 200
            and summary["totals"]["packed_qkv_expected_refuse"] >= 300), summary["totals"]
