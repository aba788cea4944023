"""`encexport export` / `encexport check` right on the first try: each case is a mistake a user made (or a report
that misled them) on a fresh clone, reproduced, with the outcome it must have now."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from encexport.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
POLYGRAPHY = str(Path(sys.executable).parent / "polygraphy")


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "encexport", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def assert_usage_error(proc, *keywords):
    shown = f"exit {proc.returncode}\nstdout: {proc.stdout[-800:]}\nstderr: {proc.stderr[-2000:]}"
    assert proc.returncode == 2, shown
    assert "Traceback" not in proc.stderr + proc.stdout, shown
    errors = [line for line in proc.stderr.splitlines() if line.startswith("encexport: error: ")]
    assert len(errors) == 1, shown
    for k in keywords:
        assert k in errors[0], f"missing {k!r} in the message\n{shown}"


def node_attrs(path: Path) -> list[dict]:
    model = onnx.load(str(path))
    return [{a.name: helper.get_attribute_value(a) for a in n.attribute}
            for n in model.graph.node if n.op_type == "EncoderOnlyAttention"]


# 1. The backend is judged against the dtype that is exported, not the fp32 weights before the cast.
def test_fp16_export_with_a_half_precision_backend(tmp_path, capsys):
    out = tmp_path / "flash"
    assert main(["export", "--model", "bert", "--exporter", "legacy", "--dtype", "fp16", "--backend", "FLASH",
                 "--out", str(out), "--no-check"]) == 0
    attrs = node_attrs(out / "model.onnx")
    assert attrs and all(a["backend"] == b"flash" for a in attrs)
    # fp32 with FLASH is still refused, up front, naming the fix.
    assert main(["export", "--model", "bert", "--dtype", "fp32", "--backend", "FLASH", "--out", str(tmp_path / "x"),
                 "--no-check"]) == 2
    err = capsys.readouterr().err
    assert "--dtype fp16" in err and not (tmp_path / "x").exists()


# 2. and verdict table: the export's own check and `encexport check` judge one file with one set of tolerances,
# taken from the model's dtype; `check` prints a short table and writes Polygraphy's report next to the model.
@pytest.fixture(scope="module")
def minilm_fp16(tmp_path_factory, ort_library):
    out = tmp_path_factory.mktemp("fp16") / "m"
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--exporter", "legacy", "--dtype", "fp16", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_fp16_export_and_check_agree(minilm_fp16):
    out, export = minilm_fp16
    assert "PASS: min cosine" in export.stdout and "threshold 0.999, fp16 model" in export.stdout
    check = cli("check", out / "model.onnx")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "threshold 0.999, fp16 model" in check.stdout
    assert "fp16 tolerances" in check.stdout and "atol 0.02" in check.stdout
    assert check.stdout.count("PASS:") == 3 and "FAIL" not in check.stdout  # sentence, layers, Polygraphy


def test_check_prints_a_verdict_table_and_writes_the_full_report(minilm_fp16):
    out, _ = minilm_fp16
    check = cli("check", out / "model.onnx")
    lines = check.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("runner"))
    for column in ("output", "max |err|", "cosine", "tolerance", "result"):
        assert column in lines[header]
    rows = lines[header + 1:header + 3]
    assert {r.split()[1] for r in rows} == {"last_hidden_state", "sentence_embedding"}
    assert all(r.split()[0] == "onnxrt-cpu" and r.endswith("PASS") for r in rows)
    report = out / "model.polygraphy.txt"
    assert f"full report: {report}" in check.stdout
    assert "Accuracy Comparison" in report.read_text()
    assert len(lines) < 20 and "[I]" not in check.stdout + check.stderr  # the statistics stay in the file


# 3. `check` without --model reads the recipe from report.json; a mismatch is one clear message.
@pytest.fixture(scope="module")
def bert_export(tmp_path_factory, ort_library):
    out = tmp_path_factory.mktemp("bert") / "b"
    assert main(["export", "--model", "bert", "--exporter", "legacy", "--out", str(out), "--no-check"]) == 0
    return out


def test_check_reads_the_recipe_from_report_json(bert_export, capsys):
    assert json.loads((bert_export / "report.json").read_text())["model"] == "bert"
    assert main(["check", str(bert_export / "model.onnx"), "--no-polygraphy"]) == 0
    out = capsys.readouterr().out
    assert "PASS: min cosine" in out
    assert "PASS: every attention layer against the unmodified model" in out  # the per-layer check runs too


def test_check_refuses_a_model_that_contradicts_report_json(bert_export, capsys):
    assert main(["check", str(bert_export / "model.onnx"), "--model", "all-MiniLM-L6-v2"]) == 2
    err = capsys.readouterr().err
    assert "exported from bert" in err and "drop --model" in err


def test_check_names_the_fix_when_the_recipe_does_not_fit_the_model(bert_export, tmp_path, capsys):
    lone = tmp_path / "model.onnx"  # no report.json beside it
    lone.write_bytes((bert_export / "model.onnx").read_bytes())
    assert main(["check", str(lone)]) == 2
    assert "pass --model" in capsys.readouterr().err
    assert main(["check", str(lone), "--model", "all-MiniLM-L6-v2"]) == 2  # hidden 64 against MiniLM's 384
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[encexport] ")]
    assert len(errors) == 1 and "exported from another model" in errors[0] and "--model" in errors[0], errors


# 4. Combinations that cannot work are refused from one table before anything is loaded or written.
@pytest.mark.parametrize("args, fix", [
    (["--layout", "packed", "--target", "ms-mha"], "drop --layout packed"),
    (["--layout", "packed", "--model", "vit"], "drop --layout packed"),
    (["--target", "decomposed", "--backend", "REFERENCE"], "drop --backend"),
    (["--target", "onnx-attention", "--opset", "18"], "--opset 23"),
    (["--exporter", "legacy", "--opset", "21"], "--exporter dynamo"),
    (["--backend", "SOMETHING"], "choose one of"),
    (["--dtype", "fp16", "--backend", "FLASH"], "--no-check"),  # the CPU check cannot run a CUDA-only family
    (["--optimize", "--backend", "FLASH"], "drop --backend"),
])
def test_impossible_combinations_are_refused_before_loading(args, fix, tmp_path, capsys, exports_forbidden):
    out = tmp_path / "out"
    base = ["export", "--model", "all-MiniLM-L6-v2", "--out", str(out)]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("encexport: error: ") and err.count("\n") == 1 and fix in err, err
    assert not out.exists()


def test_packed_ms_mha_is_refused_at_once_from_the_command_line(tmp_path):
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--layout", "packed", "--target", "ms-mha", "--out",
               tmp_path / "out", timeout=60)
    assert_usage_error(proc, "ms-mha", "drop --layout packed")
    assert not (tmp_path / "out").exists()


# 5. Empty and truncated model files: one line each, no traceback.
@pytest.mark.parametrize("content", [b"", b"\x08\x07\x12\x04"], ids=["empty", "truncated"])
def test_check_refuses_an_unusable_model_file(content, tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(content)
    assert_usage_error(cli("check", bad, timeout=60), str(bad), "re-export")


def test_check_refuses_a_truncated_export(bert_export, tmp_path):
    cut = tmp_path / "model.onnx"
    data = (bert_export / "model.onnx").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert_usage_error(cli("check", cut, "--model", "bert", timeout=60), str(cut), "re-export")


# 8. The Polygraphy data loader pads for real; a provider that is not there fails instead of running elsewhere.
def test_polygraphy_data_loader_yields_single_and_padded_batches():
    from encexport.check import polygraphy_data

    feeds = list(polygraphy_data.load_data())
    assert len(feeds) == 4
    assert all(f["input_ids"].shape[0] == 1 and f["attention_mask"].all() for f in feeds[:3])
    padded = feeds[3]
    assert padded["input_ids"].shape[0] == 3
    lengths = padded["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1 and not padded["attention_mask"].all()
    assert lengths.tolist() == [f["attention_mask"].shape[1] for f in feeds[:3]]
    for single, row in zip(feeds[:3], range(3)):
        n = single["input_ids"].shape[1]
        assert np.array_equal(padded["input_ids"][row, :n], single["input_ids"][0])


def test_polygraphy_extension_refuses_a_missing_cuda_provider(tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    model = tmp_path / "model.onnx"
    model.write_bytes(b"")  # the arguments are refused before the model is read
    run = subprocess.run([POLYGRAPHY, "run", str(model), "--onnxrt-encexport", "--encexport-providers", "cuda"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    log = run.stdout + run.stderr
    assert run.returncode != 0 and "CUDAExecutionProvider not available" in log, log
    assert "--encexport-providers cpu" in log and "onnxruntime-gpu" in log and "PASSED" not in log


def test_check_refuses_a_missing_cuda_provider(bert_export, capsys):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    assert main(["check", str(bert_export / "model.onnx"), "--providers", "CUDAExecutionProvider"]) == 2
    err = capsys.readouterr().err
    assert "CUDAExecutionProvider" in err and "onnxruntime-gpu" in err


# 10. Quiet by default: our progress lines and the result; the libraries' chatter only with --verbose.
@pytest.mark.parametrize("exporter", ["dynamo", "legacy"])
def test_export_is_quiet_by_default(exporter, tmp_path, ort_library):
    proc = cli("export", "--model", "bert", "--exporter", exporter, "--out", tmp_path / "q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    strays = [line for line in proc.stderr.splitlines() if not line.startswith("[encexport] ")]
    assert not strays, proc.stderr
    steps = [line for line in proc.stderr.splitlines() if line.endswith(" ...")]
    assert len(steps) >= 3 and all(line.replace(" ...", ": done in") in proc.stderr for line in steps)
    assert "PASS" in proc.stdout and f"wrote {tmp_path / 'q' / 'model.onnx'}" in proc.stdout
    if exporter == "dynamo":
        loud = cli("export", "--model", "bert", "--out", tmp_path / "v", "--verbose", "--no-check")
        assert loud.returncode == 0 and "torchvision" in loud.stderr


def test_our_layer_raises_no_tracer_warnings(tmp_path):
    import warnings

    import torch

    from encexport.export import export
    from encexport.models import get_recipe

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export(get_recipe("bert"), tmp_path, exporter="legacy")
    ours = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)
            and os.path.join("encexport", "") in w.filename]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]


# Output folders: written aside and moved into place, nothing half-written when a step fails.
@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_export_leaves_the_output_as_it_was(existing, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "model.onnx").write_bytes(b"old")
        (out / "notes.txt").write_text("mine")

    def half_then_fail(args, recipe, stage):
        (stage / "model.onnx").write_bytes(b"half")
        raise RuntimeError("the export broke")

    monkeypatch.setattr("encexport.cli.export_cmd._run", half_then_fail)
    args = ["export", "--model", "bert", "--out", str(out)] + (["--force"] if existing else [])
    assert main(args) == 1
    assert "the export broke" in capsys.readouterr().err
    if existing:
        assert (out / "model.onnx").read_bytes() == b"old" and (out / "notes.txt").read_text() == "mine"
    else:
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if existing else [])  # no partial folder left
