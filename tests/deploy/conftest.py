"""Shared fixtures of the Triton tests: the exported MiniLM, the generated repository, the PyTorch reference and
a real tritonserver (nvidia-pytriton's 2.51 binary, CPU) serving the Python-backend models on free ports, started
by the code `encexport serve` uses (encexport.triton.server.prepare)."""

from __future__ import annotations

import pytest
import torch

from encexport.cli.main import main

pytest.importorskip("tritonclient.http")
pytest.importorskip("pytriton")

from encexport.triton.server import prepare  # noqa: E402
from serving_common import BASE, TEXTS  # noqa: E402


@pytest.fixture(scope="session")
def exported(tmp_path_factory, ort_library):
    out = tmp_path_factory.mktemp("export")
    assert main(["export", "--model", "all-MiniLM-L6-v2", "--out", str(out), "--no-check"]) == 0
    return out / "model.onnx"


@pytest.fixture(scope="session")
def repo(exported, tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    assert main(["triton", "--model", "all-MiniLM-L6-v2", "--repo", str(repo), "--onnx", str(exported),
                 "--flavour", "all", "--kind", "cpu", "--max-batch", "8"]) == 0
    return repo


@pytest.fixture(scope="session")
def reference():
    """PyTorch (unmodified model) per-text embeddings and the tokenizer, fp32."""
    from encexport.models import get_recipe

    from encexport.export import SentenceEncoder, tokenize

    recipe = get_recipe("all-MiniLM-L6-v2")
    model, tokenizer, pooling = recipe.load()
    encoder = SentenceEncoder(model.eval(), pooling)
    batch = tokenize(tokenizer, TEXTS, recipe.input_names)
    with torch.no_grad():
        _, embeddings = encoder(**batch)
    return embeddings.numpy(), {k: v.numpy() for k, v in batch.items()}


@pytest.fixture(scope="session")
def server(repo, tmp_path_factory):
    models = (f"{BASE}_py", f"{BASE}_tokenizer", f"{BASE}_embed")
    srv, _ = prepare(repo, tmp_path_factory.mktemp("triton"), models=models)  # as `encexport serve` starts it
    try:
        srv.start(timeout=90)
    except Exception as exc:
        pytest.fail(f"tritonserver did not start: {exc}")
    yield srv
    srv.stop()
    print(srv.logs()[-4000:])  # shown by pytest when a test of this module failed

