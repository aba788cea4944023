"""`encexport export` on the real all-MiniLM-L6-v2: both exporters, ORT CPU vs PyTorch, and CLI refusals."""

import json

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
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(tmp_path), "--no-check"]) == 1
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "model.onnx").read_bytes() == b"keep me"


def test_unknown_model_names_the_supported_ones(tmp_path, capsys):
    assert main(["export", "--model", "gpt2", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "all-MiniLM-L6-v2" in err and "recipe" in err


def test_unwritable_output_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(blocker / "sub"), "--no-check"]) == 1
    assert "choose" in capsys.readouterr().err


def test_check_missing_model_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.onnx")]) == 1
    assert "not found" in capsys.readouterr().err
