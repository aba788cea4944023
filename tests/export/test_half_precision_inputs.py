"""Families fed floating inputs (pixels, audio features) export in fp16: the input stays float32 for the user and
is cast at the graph's entrance, at patch time too (the model is patched after its cast)."""

from __future__ import annotations

import json

import onnx
import pytest

from encexport.cli.main import main


@pytest.mark.parametrize("model", ["beit", "whisper"])
def test_fp16_export_of_a_floating_input_family(model, tmp_path, capsys):
    out = tmp_path / model
    assert main(["export", "--model", model, "--exporter", "legacy", "--dtype", "fp16", "--out", str(out)]) == 0
    assert "PASS: min cosine" in capsys.readouterr().out
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert json.loads((out / "report.json").read_text())["dtype"] == "fp16"
