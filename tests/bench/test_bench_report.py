"""The benchmark's bookkeeping on made-up timings (no GPU): ratio to the best peer per level, the `auto` check
against each forced kernel family, the host-cost comparison, the provenance line, and the markdown it writes."""

from encexport.bench import report
from encexport.bench.runner import OURS_BY_NAME, Ours, Row, rows_as_dicts, rows_from_dicts, summarize

AUTO_K = Ours("kernel", "auto", "padded").name
FLASH64_K, FLASH128_K = Ours("kernel", "flash", "padded", 1).name, Ours("kernel", "flash", "padded", 2).name
CUDNN_K = Ours("kernel", "cudnn", "padded").name
AUTO_R, AUTO_R_PACKED = Ours("runtime", "auto", "padded").name, Ours("runtime", "auto", "packed").name
FLASH_R, CUDNN_R = Ours("runtime", "flash", "padded").name, Ours("runtime", "cudnn", "padded").name


def _rows():
    k = dict(level="kernel", dtype="float16")
    r = dict(level="runtime", dtype="float16")
    return [
        Row(shape="S512", impl=AUTO_K, us=100.0, tflops=250.0, max_abs_diff=0.0, note="ran cudnn", **k),
        Row(shape="S512", impl=FLASH64_K, us=150.0, tflops=160.0, max_abs_diff=0.0, **k),
        Row(shape="S512", impl=FLASH128_K, us=120.0, tflops=200.0, max_abs_diff=0.0, **k),
        Row(shape="S512", impl=CUDNN_K, us=98.0, tflops=255.0, max_abs_diff=0.0, **k),
        Row(shape="S512", impl="torch sdpa cudnn", us=80.0, tflops=300.0, max_abs_diff=1e-3, **k),
        Row(shape="S512", impl="torch sdpa flash", us=None, tflops=None, max_abs_diff=None, note="No available kernel",
            **k),
        Row(shape="S128", impl=AUTO_K, us=40.0, tflops=50.0, max_abs_diff=0.0, note="ran cudnn", **k),
        Row(shape="S128", impl=FLASH64_K, us=20.0, tflops=100.0, max_abs_diff=0.0, **k),
        Row(shape="S128", impl="torch sdpa cudnn", us=30.0, tflops=60.0, max_abs_diff=1e-3, **k),
        Row(shape="S128", impl=AUTO_R, us=36.0, tflops=55.0, max_abs_diff=0.0, note="ran flash", host_us=25.0, **r),
        Row(shape="S128", impl=AUTO_R_PACKED, us=37.0, tflops=54.0, max_abs_diff=0.0, host_us=26.5, **r),
        Row(shape="S128", impl=FLASH_R, us=35.0, tflops=56.0, max_abs_diff=0.0, host_us=25.0, **r),
        Row(shape="S128", impl=CUDNN_R, us=50.0, tflops=40.0, max_abs_diff=0.0, host_us=40.0, **r),
        Row(shape="S128", impl="ORT MultiHeadAttention", us=45.0, tflops=44.0, max_abs_diff=1e-3, host_us=24.0, **r),
    ]


def test_summary_takes_our_best_and_the_best_peer_per_level():
    s512, s128 = summarize(_rows(), "kernel")
    assert s512["ours"] == CUDNN_K and s512["best_peer"] == "torch sdpa cudnn"
    assert abs(s512["ratio"] - 80.0 / 98.0) < 1e-9
    assert s128["ours"] == FLASH64_K and abs(s128["ratio"] - 1.5) < 1e-9
    (runtime,) = summarize(_rows(), "runtime")
    assert runtime["ours"] == FLASH_R and runtime["best_peer"] == "ORT MultiHeadAttention"
    assert abs(runtime["ratio"] - 45.0 / 35.0) < 1e-9
    assert runtime["ours_host_us"] == 25.0 and runtime["peer_host_us"] == 24.0


def test_auto_is_checked_against_the_fastest_forced_family():
    s512, s128 = summarize(_rows(), "kernel")
    (c512,), (c128,) = s512["auto"], s128["auto"]
    assert c512 == {"layout": "padded", "ran": "cudnn", "auto_us": 100.0, "fastest": CUDNN_K, "fastest_us": 98.0,
                    "ok": True}
    assert c128["ran"] == "cudnn" and c128["fastest_us"] == 20.0 and c128["ok"] is False
    (runtime,) = summarize(_rows(), "runtime")
    (check,) = runtime["auto"]  # no packed family forced in the made-up rows: only the padded check
    assert check["fastest"] == FLASH_R and check["ok"] is True


def test_host_cost_is_held_to_the_peer_plus_the_budget():
    (line,) = report.host_cost_table(rows_as_dicts(_rows()))[2:]
    # worst of ours (packed 26.5) - MultiHeadAttention (24.0) = +2.5 > 2 us budget
    assert line == "| S128 | float16 | 25.0 | 26.5 | 24.0 | +2.5 | **no** |"


def test_markdown_names_the_commit_and_lists_both_levels_and_every_row():
    rows = _rows()
    summary = summarize(rows, "kernel") + summarize(rows, "runtime")
    env = {"device": "test GPU", "source": {"commit": "0123456789abcdef", "tree": "clean"}, "torch": "x"}
    text = report.markdown(summary, rows_as_dicts(rows), env)
    assert "Measured: commit 0123456789ab (clean tree)" in text
    assert "## Kernel level" in text and "## Runtime level" in text and "## Host cost per call" in text
    assert f"| kernel | S128 | float16 | padded | cudnn | 40.0 | {FLASH64_K} | 20.0 | **no** |" in text
    assert "No available kernel" in text and "**0.82×**" in text and "**1.29×**" in text


def test_rows_round_trip_through_json_dicts():
    rows = _rows()
    assert rows_from_dicts(rows_as_dicts(rows)) == rows
    assert all(OURS_BY_NAME[r.impl] for r in rows if r.ours)



def test_memory_floor_counts_q_k_v_and_output_once():
    # MiniLM: 64 x 128 tokens x 12 heads x 32 x 4 tensors x 2 bytes = 25.2 MB -> 7.5 us at 3.35 TB/s
    assert abs(report.memory_floor_us("MiniLM") - 64 * 128 * 12 * 32 * 4 * 2 / 3.35e12 * 1e6) < 1e-9
    assert report.memory_floor_us("no such shape") is None
