"""The `load` step's pieces on the CPU: the workload from the prepared reference, the refusals that name their
fix, the provider check read from the server log, and the results table. (The whole step also runs on the
CPU against the real tritonserver with ENCEXPORT_LOAD_KIND=cpu; that takes a prepared .gpu_models folder.)"""

from __future__ import annotations

import json
import sysconfig

import numpy as np

from encexport.gpu_check import load
from encexport.gpu_check.loadgen import v2_output


def _reference(path, lengths=(3, 5)):
    ids = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = np.arange(101, 101 + n)
        mask[i, :n] = 1
    emb = np.eye(len(lengths), 4, dtype=np.float32)
    np.savez(path, input_ids=ids, attention_mask=mask, token_type_ids=np.zeros_like(ids), embedding=emb)
    return emb


def test_requests_are_the_prepared_sentences_unpadded(tmp_path):
    emb = _reference(tmp_path / "ref.npz")
    requests, judge, lengths = load.workload(tmp_path / "ref.npz")
    assert lengths == [3, 5]
    first = json.loads(requests[0])
    assert [t["shape"] for t in first["inputs"]] == [[1, 3]] * 3 and first["inputs"][0]["data"] == [101, 102, 103]
    assert (judge.atol, judge.rtol, judge.min_cosine) == (2e-3, 1e-2, 0.999)  # fp16 sentence_embedding
    assert judge(1, emb[1].astype(np.float64))[0] and not judge(1, emb[0].astype(np.float64))[0]
    reply = json.dumps({"outputs": [{"name": "sentence_embedding", "shape": [1, 4], "data": emb[0].tolist()}]})
    assert judge(0, v2_output(reply.encode(), "sentence_embedding"))[0]


def test_without_prepared_models_the_step_names_prepare(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENCEXPORT_GPU_MODELS", str(tmp_path / "models"))
    assert not load.step(tmp_path, tmp_path)
    err = capsys.readouterr().err
    assert "python -m encexport.gpu_check prepare" in err and "minilm_fp16.onnx" in err
    assert "load/stock/model.onnx" in err


def test_without_tritonserver_the_step_names_the_install(tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    for path in ("minilm_fp16.onnx", "load/stock/model.onnx"):
        (models / path).parent.mkdir(parents=True, exist_ok=True)
        (models / path).write_bytes(b"")
    _reference(models / "minilm_reference.npz")
    monkeypatch.setenv("ENCEXPORT_GPU_MODELS", str(models))
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pytriton" else real(name, *a))
    assert not load.step(tmp_path, tmp_path)
    assert "no tritonserver" in capsys.readouterr().err


def test_the_provider_line_is_read_from_the_server_log():
    log = ("I1126 model loaded\nall_minilm_l6_v2_py: ONNX Runtime providers ['CUDAExecutionProvider', "
           "'CPUExecutionProvider']\n")
    assert load.providers_line(log, load.MODEL_NAME) == "['CUDAExecutionProvider', 'CPUExecutionProvider']"
    assert load.providers_line("nothing", load.MODEL_NAME) is None


def test_served_models_get_existing_pythonpath_folders_first(tmp_path, monkeypatch):
    # The stub ignores PYTHONPATH: `encexport serve` and the load step hand its folders over, ahead of site-packages.
    from encexport.triton.server import current_site_packages

    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:/no/such/folder:")
    paths = current_site_packages()
    assert paths[0] == str(tmp_path) and "/no/such/folder" not in paths
    assert sysconfig.get_paths()["purelib"] in paths


def test_results_table_names_commit_and_failures():
    run = {"requests": 900, "errors": 0, "wrong_answers": 0, "throughput_rps": 15.0, "p50_ms": 4.0, "p90_ms": 5.0,
           "p99_ms": 9.5, "min_cosine": 0.99999, "max_abs": 4e-4}
    result = {"source": {"commit": "c" * 40, "tree": "clean"}, "device": "NVIDIA H100 80GB HBM3",
              "settings": {"seconds": 60.0, "clients": 64, "processes": 8, "instances": 1, "kind": "gpu"},
              "sentences": 64, "lengths": [3, 106], "tolerance": "fp16",
              "models": [{"model": "ours", "providers": "['CUDAExecutionProvider']", "load": run, "passed": True},
                         {"model": "stock optimized", "failure": "TimeoutError: not ready", "passed": False}]}
    text = load.markdown(result)
    assert "commit cccccccccccc (clean tree)" in text and "KIND_GPU" in text
    assert "| ours | ['CUDAExecutionProvider'] | 900 | 0 | 0 | 15.0 | 4.0 | 5.0 | 9.5 | 0.999990 | 4.00e-04 | PASS |" in text
    assert "| stock optimized |  | | | | | | | | | | **FAIL**: TimeoutError: not ready |" in text
