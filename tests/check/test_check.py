"""`encexport check` with Polygraphy, and the `polygraphy run --onnxrt-encexport` extension, on the real MiniLM."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from encexport.cli.main import main

pytest.importorskip("polygraphy")
ROOT = Path(__file__).resolve().parents[2]
POLYGRAPHY = [str(Path(sys.executable).parent / "polygraphy")]  # the console script of this environment
DATA = str(ROOT / "encexport" / "check" / "polygraphy_data.py")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, ort_library):
    out = tmp_path_factory.mktemp("exports")
    for target in ("encexport", "decomposed"):
        assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(out / target), "--target", target,
                     "--no-check"]) == 0
    return {t: out / t / "model.onnx" for t in ("encexport", "decomposed")}


def test_the_extension_is_registered():
    names = {ep.name: ep.value for ep in metadata.entry_points(group="polygraphy.run.plugins")}
    assert names.get("encexport") == "encexport.check.polygraphy_ext:export_argument_groups", \
        "reinstall (pip install -e .) after pyproject.toml changes"
    groups = metadata.entry_points(group="polygraphy.run.plugins")["encexport"].load()()
    assert groups[0].get_name_opt_impl()[1] == "onnxrt-encexport"


def test_encexport_check_passes_on_cpu(exports, capsys):
    assert main(["check", str(exports["encexport"])]) == 0
    out = capsys.readouterr().out
    assert "against pytorch" in out and "onnxrt-cpu" in out and "sentence_embedding" in out and "last_hidden_state" in out
    assert out.count("PASS:") == 3 and "FAIL:" not in out  # the sentence report, every layer, the Polygraphy table


def test_polygraphy_cli_encexport_runner_matches_stock_onnxrt_on_a_decomposed_export(exports, tmp_path):
    saved = tmp_path / "encexport.json"
    first = subprocess.run(POLYGRAPHY + ["run", str(exports["encexport"]), "--onnxrt-encexport",
                                         "--data-loader-script", DATA, "--save-outputs", str(saved)],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "onnxrt-encexport" in first.stdout + first.stderr
    second = subprocess.run(POLYGRAPHY + ["run", str(exports["decomposed"]), "--onnxrt", "--data-loader-script", DATA,
                                          "--load-outputs", str(saved), "--atol", "1e-4", "--rtol", "1e-3"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    log = second.stdout + second.stderr
    assert second.returncode == 0 and "PASSED" in log and "Pass Rate: 100.00%" in log, log[-3000:]


def test_stock_onnxrt_cannot_load_the_custom_op(exports, tmp_path):
    run = subprocess.run(POLYGRAPHY + ["run", str(exports["encexport"]), "--onnxrt", "--data-loader-script", DATA],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode != 0 and "EncoderOnlyAttention" in run.stdout + run.stderr


@pytest.mark.parametrize("model", ["bert", "vit"])
def test_encexport_check_on_recipes_without_tokenizer(model, tmp_path, capsys):
    """Random-weight recipes feed their own example inputs (token ids with uneven masks, or pixels)."""
    out = tmp_path / model
    assert main(["export", "--model", model, "--exporter", "legacy", "--out", str(out), "--no-check"]) == 0
    assert main(["check", str(out / "model.onnx"), "--model", model]) == 0
    printed = capsys.readouterr().out
    assert "PASS: Polygraphy comparison against PyTorch" in printed and "onnxrt-cpu" in printed
