"""Real exported encoders through the ORT CUDA op: all-MiniLM-L6-v2 (its real weights, exported on the CPU
machine by `python -m encexport.gpu_check prepare`) and a BERT-base-shaped model (hidden 768, 12 heads of 64, random
weights, exported here), fp16, against the unmodified PyTorch models in fp32. Embedding cosine >= 0.999."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[2]
PREPARED = ROOT / ".gpu_models"
COSINE_MIN = 0.999


@pytest.fixture(scope="module")
def cuda_session(ort_cuda):
    _, eort = ort_cuda

    def make(path):
        return eort.session(path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])

    return make


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_minilm_fp16_on_ort_cuda(cuda_session, record):
    onnx_path, ref_path = PREPARED / "minilm_fp16.onnx", PREPARED / "minilm_reference.npz"
    if not onnx_path.is_file():
        pytest.skip(f"{onnx_path} missing: run `python -m encexport.gpu_check prepare` on the CPU machine and carry .gpu_models")
    data = dict(np.load(ref_path))
    sess = cuda_session(onnx_path)
    assert sess.get_providers()[0] == "CUDAExecutionProvider"
    feed = {i.name: data[i.name] for i in sess.get_inputs()}
    emb = sess.run(["sentence_embedding"], feed)[0]
    cos = cosines(emb, data["embedding"])
    record({"test": "minilm_fp16_ort_cuda", "sentences": len(cos), "min_cosine": float(cos.min()),
            "max_abs_error": float(np.abs(emb.astype(np.float64) - data["embedding"]).max())})
    assert cos.min() >= COSINE_MIN, f"min cosine {cos.min():.6f} over {len(cos)} sentences"


def test_bert_base_shaped_fp16_on_ort_cuda(cuda_session, record, tmp_path):
    from transformers import BertConfig, BertModel

    from encexport.export import SentenceEncoder
    from encexport.models import bert

    torch.manual_seed(0)
    config = BertConfig(hidden_size=768, num_attention_heads=12, num_hidden_layers=4, intermediate_size=3072,
                        vocab_size=30522, attn_implementation="eager")
    model = BertModel(config).eval()
    pooling = {"mode": "mean", "normalize": True}
    reference = SentenceEncoder(model, pooling).eval()
    patched_model = BertModel(config).eval()
    patched_model.load_state_dict(model.state_dict())
    slot = bert.patch(patched_model)
    patched = SentenceEncoder(patched_model, pooling, slot).eval().half()

    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([128, 97, 64, 33, 17, 5, 128, 1] * 4)
    ids = torch.randint(1000, 30000, (len(lengths), 128), generator=g)
    mask = (torch.arange(128)[None, :] < lengths[:, None]).long()
    types = torch.zeros_like(ids)
    path = tmp_path / "bert_base_fp16.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(patched, (ids[:2, :16], mask[:2, :16], types[:2, :16]), str(path), dynamo=False,
                          input_names=names, output_names=["last_hidden_state", "sentence_embedding"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names}, opset_version=17)
        _, ref = reference(ids, mask, types)
    sess = cuda_session(path)
    emb = sess.run(["sentence_embedding"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                            "token_type_ids": types.numpy()})[0]
    cos = cosines(emb, ref.numpy())
    record({"test": "bert_base_shaped_fp16_ort_cuda", "sentences": len(cos), "min_cosine": float(cos.min())})
    assert cos.min() >= COSINE_MIN, f"min cosine {cos.min():.6f}"
