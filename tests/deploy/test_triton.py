"""`encexport triton`: all three flavours written and schema-checked; the Python-backend repository served by
the real tritonserver (nvidia-pytriton's 2.51 binary, CPU) and queried over HTTP and gRPC against PyTorch.

The onnxruntime and tensorrt flavours cannot be served here (that binary ships only the Python backend):
they are checked as files, and the onnxruntime flavour's exported model (ORT-optimized unless --no-optimize)
is run in ONNX Runtime CPU against PyTorch.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest

from encexport.cli.main import main

tritonclient_http = pytest.importorskip("tritonclient.http")
tritonclient_grpc = pytest.importorskip("tritonclient.grpc")
pytest.importorskip("pytriton")

from serving_common import BASE, TEXTS, cosine, http_token_inputs  # noqa: E402

from encexport import ort  # noqa: E402
from encexport.triton.validate import validate_repository  # noqa: E402


def test_every_config_parses_with_tritons_schema(repo):
    configs = validate_repository(repo)
    assert set(configs) == {f"{BASE}_ort", f"{BASE}_trt", f"{BASE}_py", f"{BASE}_tokenizer", f"{BASE}_embed",
                            f"{BASE}_embed_ort", f"{BASE}_embed_trt"}
    ort = configs[f"{BASE}_ort"]
    assert ort.backend == "onnxruntime" and ort.max_batch_size == 8
    library = ort.model_operations.op_library_filename[0]
    assert library.startswith("/") and (repo / f"{BASE}_ort" / "libencexport_ort.so").samefile(library)
    assert [tuple(i.dims) for i in ort.input] == [(-1,)] * 3
    assert {o.name: tuple(o.dims) for o in ort.output} == {"last_hidden_state": (-1, 384),
                                                           "sentence_embedding": (384,)}
    assert ort.dynamic_batching is not None and ort.instance_group[0].kind == ort.instance_group[0].KIND_CPU
    trt = configs[f"{BASE}_trt"]
    assert trt.platform == "tensorrt_plan" and trt.instance_group[0].kind == trt.instance_group[0].KIND_GPU
    assert (repo / f"{BASE}_trt" / "libencexport_trt.so").is_file()
    assert configs[f"{BASE}_embed"].ensemble_scheduling.step[1].model_name == f"{BASE}_py"
    assert "--backend-config=tensorrt,plugins=" in (repo / "SERVE.md").read_text()


def test_existing_model_folder_needs_force(repo, exported, capsys):
    args = ["triton", "--model", "all-MiniLM-L6-v2", "--repo", str(repo), "--onnx", str(exported),
            "--flavour", "onnxruntime"]  # --max-batch 32, not the repository's 8: different content
    assert main(args) == 2 and "--force" in capsys.readouterr().err


def test_token_inputs_over_http_match_pytorch(server, reference):
    ref, batch = reference
    with tritonclient_http.InferenceServerClient(f"127.0.0.1:{server.http_port}") as client:
        result = client.infer(f"{BASE}_py", http_token_inputs(tritonclient_http, batch))
    served = result.as_numpy("sentence_embedding")
    assert served.shape == ref.shape and result.as_numpy("last_hidden_state").shape[:2] == batch["input_ids"].shape
    assert cosine(served, ref).min() >= 0.9999


def test_text_over_grpc_matches_pytorch(server, reference):
    ref, _ = reference
    text = np.array([[t.encode()] for t in TEXTS], dtype=object)
    with tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc_port}") as client:
        tensor = tritonclient_grpc.InferInput("TEXT", list(text.shape), "BYTES")
        tensor.set_data_from_numpy(text)
        served = client.infer(f"{BASE}_embed", [tensor]).as_numpy("sentence_embedding")
    assert served.shape == ref.shape
    assert cosine(served, ref).min() >= 0.9999


def test_bad_request_is_a_triton_error_and_the_server_stays_up(server, reference):
    from tritonclient.utils import InferenceServerException

    with tritonclient_http.InferenceServerClient(f"127.0.0.1:{server.http_port}") as client:
        bad = []
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            tensor = tritonclient_http.InferInput(name, [1, 4], "INT64")
            tensor.set_data_from_numpy(np.full((1, 4), 10**9 if name == "input_ids" else 1, dtype=np.int64))
            bad.append(tensor)  # token ids far outside the vocabulary
        with pytest.raises(InferenceServerException):
            client.infer(f"{BASE}_py", bad)
        assert client.is_server_live() and client.is_model_ready(f"{BASE}_py")
        text = tritonclient_http.InferInput("TEXT", [1, 1], "BYTES")
        text.set_data_from_numpy(np.array([["still serving".encode()]], dtype=object))
        assert client.infer(f"{BASE}_embed", [text]).as_numpy("sentence_embedding").shape == (1, 384)


@pytest.mark.parametrize("flag, fused", [([], True), (["--no-optimize"], False)])
def test_onnxruntime_flavour_deploys_the_optimized_model(flag, fused, tmp_path, reference, ort_library):
    repo = tmp_path / "repo"
    assert main(["triton", "--model", "all-MiniLM-L6-v2", "--repo", str(repo), "--flavour", "onnxruntime",
                 "--kind", "cpu", *flag]) == 0
    assert set(validate_repository(repo)) == {f"{BASE}_ort", f"{BASE}_tokenizer", f"{BASE}_embed_ort"}
    deployed = repo / f"{BASE}_ort" / "1" / "model.onnx"
    ops = Counter(n.op_type for n in onnx.load(str(deployed)).graph.node)
    assert ops["EncoderOnlyAttention"] == 6, ops
    assert (ops["SkipLayerNormalization"] == 12 and ops["EmbedLayerNormalization"] == 1) == fused, ops
    ref, batch = reference
    _, served = ort.session(deployed).run(None, batch)
    assert cosine(served, ref).min() >= (0.999 if fused else 0.9999)  # fp16 weights when optimized


def test_onnxruntime_flavour_refuses_a_family_the_optimizer_cannot_fuse(tmp_path, capsys):
    assert main(["triton", "--model", "modernbert", "--repo", str(tmp_path / "repo"), "--flavour", "all"]) == 2
    assert "--no-optimize" in capsys.readouterr().err
    assert not (tmp_path / "repo").exists()
