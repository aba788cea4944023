"""`encexport export` on the real all-MiniLM-L6-v2: both exporters, the ORT-optimized model (--optimize), ORT CPU
vs PyTorch, and CLI refusals."""

import json
from collections import Counter

import onnx
import pytest
from onnx import helper

from encexport.cli.main import main


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_export_real_minilm(exporter, tmp_path, capsys, ort_library):
    out = tmp_path / exporter
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(out), "--exporter", exporter]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["min_cosine"] >= 0.9999, report
    assert report["max_abs_error"] < 1e-4, report
    model = onnx.load(str(out / "model.onnx"))
    nodes = [n for n in model.graph.node if n.op_type == "EncoderOnlyAttention"]
    assert len(nodes) == 6 and all(n.domain == "encexport" for n in nodes)
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        assert attrs["causal"] == 0 and attrs["backend"] == b"auto"
        assert (attrs["num_heads"], attrs["head_size"]) == (12, 32)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert "PASS" in capsys.readouterr().out


def test_existing_output_is_never_overwritten_silently(tmp_path, capsys):
    (tmp_path / "model.onnx").write_bytes(b"keep me")
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(tmp_path), "--no-check"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "model.onnx").read_bytes() == b"keep me"


def test_unknown_model_names_the_supported_ones(tmp_path, capsys):
    assert main(["export", "--model", "gpt2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "all-MiniLM-L6-v2" in err and "recipe" in err


def test_unwritable_output_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(blocker / "sub"), "--no-check"]) == 2
    assert "choose" in capsys.readouterr().err


def test_check_missing_model_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.onnx")]) == 2
    assert "not found" in capsys.readouterr().err


def _op_counts(model) -> Counter:
    return Counter(n.op_type for n in model.graph.node)


@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_export_optimize_real_minilm(layout, tmp_path, capsys, ort_library):
    out = tmp_path / layout
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(out), "--optimize", "--layout", layout]) == 0
    model = onnx.load(str(out / "model.onnx"))
    ops = _op_counts(model)
    # ORT's fusions around our six nodes: one embedding layer, two skip-layer-norms per layer.
    assert ops["EmbedLayerNormalization"] == 1 and ops["SkipLayerNormalization"] == 12, ops
    assert ops["BiasGelu"] == 6 and ops["EncoderOnlyAttention"] == 6, ops
    assert all(n.domain == "encexport" for n in model.graph.node if n.op_type == "EncoderOnlyAttention")
    float_weights = {onnx.TensorProto.DataType.Name(i.data_type) for i in model.graph.initializer
                     if i.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)}
    assert float_weights == {"FLOAT16"}
    # keep_io_types: the same int64 inputs and fp32 outputs as the plain export.
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert {o.type.tensor_type.elem_type for o in model.graph.output} == {onnx.TensorProto.FLOAT}
    report = json.loads((out / "report.json").read_text())
    assert report["optimized"] is True and report["dtype"] == "fp16" and report["exporter"] == "legacy"
    assert report["op_histogram"] == dict(ops)
    assert report["min_cosine"] >= 0.999, report  # the fp16 threshold, on the written model
    # ORT 1.32's CPU provider has no float16 MatMul: the check says it ran those in fp32 (README, "Using it").
    assert "MatMul" in report["fp32_fallbacks"]
    printed = capsys.readouterr().out
    assert "PASS" in printed and "fp16 fallback" in printed


@pytest.mark.parametrize("args, fix", [
    (["--target", "onnx-attention"], "drop --target onnx-attention"),
    (["--exporter", "dynamo"], "drop --exporter dynamo"),
    (["--dtype", "fp32"], "drop --dtype fp32"),
    (["--format", "engine"], "without --optimize"),
    (["--model", "modernbert"], "export without --optimize"),
])
def test_optimize_refuses_contradictions_before_loading(args, fix, tmp_path, capsys, exports_forbidden):
    out = tmp_path / "out"
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(out), "--optimize", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("encexport: error: ") and err.count("\n") == 1 and fix in err, err  # one line, the fix
    assert not out.exists()
