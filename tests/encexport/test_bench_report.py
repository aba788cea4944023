"""The benchmark's bookkeeping on made-up timings (no GPU): ratio to the best peer, the `auto` check
against each forced kernel family, and the markdown it writes."""

from encexport.bench import report
from encexport.bench.runner import AUTO, FAMILIES, Row, rows_as_dicts, summarize


def _rows():
    flash64, flash128, cudnn = (name for name, (_, layout, _) in FAMILIES.items() if layout == "padded")
    return [
        Row("S512", "float16", AUTO[0], 100.0, 250.0, 0.0, "auto ran cudnn"),
        Row("S512", "float16", flash64, 150.0, 160.0, 0.0),
        Row("S512", "float16", flash128, 120.0, 200.0, 0.0),
        Row("S512", "float16", cudnn, 98.0, 255.0, 0.0),
        Row("S512", "float16", "torch sdpa cudnn", 80.0, 300.0, 1e-3),
        Row("S512", "float16", "torch sdpa flash", None, None, None, "No available kernel"),
        Row("S128", "float16", AUTO[0], 40.0, 50.0, 0.0, "auto ran cudnn"),
        Row("S128", "float16", flash64, 20.0, 100.0, 0.0),
        Row("S128", "float16", "torch sdpa cudnn", 30.0, 60.0, 1e-3),
    ]


def test_summary_takes_our_best_and_the_best_peer():
    s512, s128 = summarize(_rows())
    assert s512["ours"].startswith("encexport cudnn") and s512["best_peer"] == "torch sdpa cudnn"
    assert abs(s512["ratio"] - 80.0 / 98.0) < 1e-9
    assert s128["ours"] == next(iter(FAMILIES)) and abs(s128["ratio"] - 1.5) < 1e-9


def test_auto_is_checked_against_the_fastest_forced_family():
    s512, s128 = summarize(_rows())
    (c512,), (c128,) = s512["auto"], s128["auto"]
    assert c512 == {"layout": "padded", "ran": "cudnn", "auto_us": 100.0, "fastest": c512["fastest"],
                    "fastest_us": 98.0, "ok": True}
    assert c128["ran"] == "cudnn" and c128["fastest_us"] == 20.0 and c128["ok"] is False


def test_markdown_lists_the_auto_check_and_every_row():
    rows = _rows()
    text = report.markdown(summarize(rows), rows_as_dicts(rows), {"device": "test GPU", "torch": "x"})
    assert "| S128 | float16 | padded | cudnn | 40.0 |" in text and "**no**" in text
    assert "No available kernel" in text and "**0.82×**" in text


def test_memory_floor_counts_q_k_v_and_output_once():
    # MiniLM: 64 x 128 tokens x 12 heads x 32 x 4 tensors x 2 bytes = 25.2 MB -> 7.5 us at 3.35 TB/s
    assert abs(report.memory_floor_us("MiniLM") - 64 * 128 * 12 * 32 * 4 * 2 / 3.35e12 * 1e6) < 1e-9
    assert report.memory_floor_us("no such shape") is None
