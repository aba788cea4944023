"""`python -m encexport` as a user runs it, on bad input: exit code 2 (a user mistake), a one-line `encexport: error:`
message naming the problem and the fix, no Python traceback, and nothing overwritten. (tests/test_cli.py covers the
in-process refusals: existing model.onnx, unknown recipe name, --out below a file, missing check file.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "encexport", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def assert_refused(proc, *keywords, code=2):
    shown = f"exit {proc.returncode}\nstdout: {proc.stdout[-500:]}\nstderr: {proc.stderr[-1500:]}"
    assert proc.returncode == code, shown
    assert "Traceback" not in proc.stderr, shown
    for k in keywords:
        assert k in proc.stderr, f"missing {k!r} in the message\n{shown}"


def test_unsupported_architecture_from_a_local_checkpoint(tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    proc = cli("export", "--model", ckpt, "--out", tmp_path / "out", "--no-check")
    # A family without a recipe goes through transformers' attention interface; a decoder family is refused.
    assert_refused(proc, "encexport: error:", "unsupported:", "gpt2", "causal language model")
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_out_is_an_existing_file(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"keep me")
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--out", target, "--no-check")
    assert_refused(proc, "exists and is not a folder")
    assert target.read_bytes() == b"keep me"


def test_out_cannot_be_created():
    # /proc refuses new folders even for root (a chmod'ed folder would not stop root).
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--out", "/proc/encexport-out/x", "--no-check")
    assert_refused(proc, "cannot create", "choose a writable --out")


def test_existing_engine_output_is_kept(tmp_path):
    (tmp_path / "model.engine").write_bytes(b"old engine")
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--out", tmp_path, "--format", "engine", "--no-check")
    assert_refused(proc, "model.engine", "--force")
    assert (tmp_path / "model.engine").read_bytes() == b"old engine" and not (tmp_path / "model.onnx").exists()


def test_impossible_exporter_opset_combination(tmp_path):
    proc = cli("export", "--model", "all-MiniLM-L6-v2", "--out", tmp_path / "o", "--exporter", "legacy",
               "--opset", "23", "--no-check")
    assert_refused(proc, "legacy exporter supports opset <= 20", "--exporter dynamo")


@pytest.mark.parametrize("args", [
    ("export", "--model", "all-MiniLM-L6-v2"),  # --out missing
    ("export", "--model", "all-MiniLM-L6-v2", "--out", "x", "--dtype", "fp64"),
    ("no-such-command",),
])
def test_usage_errors_exit_2(args):
    proc = cli(*args)
    assert proc.returncode == 2 and "usage:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_check_corrupt_model_file(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a protobuf")
    assert_refused(cli("check", bad), "encexport: error:", str(bad))


def test_corrupt_checkpoint_config_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    proc = cli("export", "--model", tmp_path, "--out", tmp_path / "out", "--no-check")
    assert_refused(proc, "config.json")
