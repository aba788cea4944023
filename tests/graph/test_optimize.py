"""optimize_for_ort gives our exports the fusions ONNX Runtime's optimizer gives the stock model, and keeps
their numbers: EmbedLayerNormalization, SkipLayerNormalization, BiasGelu, and the fused QKV projection feeding
the attention node directly (packed q|k|v, no Split), for the padded and the packed (token-packing) wrapper.

Models: MiniLM-L6's shape (hidden 384, 12 heads of 32, 6 layers) and BERT-base's width (768, 12 heads of 64; 2
layers to stay quick), random weights, a small vocabulary. The optimization is fp32 (fp16 is the same graph with
converted weights) and runs in ORT CPU."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import onnx
import pytest
import torch

from encexport import contract, ort
from encexport.export import PackedSentenceEncoder, SentenceEncoder
from encexport.graph.ort_optimizer import optimize_for_ort

SHAPES = {"MiniLM-L6": dict(hidden=384, heads=12, layers=6), "BERT-base-width": dict(hidden=768, heads=12, layers=2)}
POOLING = {"mode": "mean", "normalize": True}
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def _encoders(hidden: int, heads: int, layers: int) -> dict[str, torch.nn.Module]:
    from transformers import BertConfig, BertModel

    from encexport.models import bert

    torch.manual_seed(0)
    config = BertConfig(vocab_size=2048, hidden_size=hidden, num_attention_heads=heads, num_hidden_layers=layers,
                        intermediate_size=4 * hidden, attn_implementation="eager")
    model = BertModel(config).eval()
    padded, packed = copy.deepcopy(model), copy.deepcopy(model)
    return {"stock": SentenceEncoder(model, POOLING).eval(),
            "padded": SentenceEncoder(padded, POOLING, bert.patch(padded)).eval(),
            "packed": PackedSentenceEncoder(packed, POOLING, bert.patch(packed, layout="packed")).eval()}


def _export(module: torch.nn.Module, path) -> None:
    ids = torch.randint(100, 2000, (2, 16))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (ids, mask, torch.zeros_like(ids)), str(path), dynamo=False, input_names=INPUTS,
                          output_names=["last_hidden_state", "sentence_embedding"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in INPUTS}, opset_version=17)


@dataclass
class Optimized:
    layers: int
    variants: dict = field(default_factory=dict)  # name -> (module, op histogram, optimized model path)

    def __getitem__(self, name: str):
        return self.variants[name]


@pytest.fixture(scope="module", params=list(SHAPES))
def optimized(request, tmp_path_factory) -> Optimized:
    shape = SHAPES[request.param]
    out = Optimized(layers=shape["layers"])
    tmp = tmp_path_factory.mktemp("optimize")
    for name, module in _encoders(**shape).items():
        raw, opt = tmp / f"{name}.onnx", tmp / f"{name}.opt.onnx"
        _export(module, raw)
        histogram = optimize_for_ort(raw, opt, num_heads=shape["heads"], hidden_size=shape["hidden"], fp16=False)
        out.variants[name] = (module, histogram, opt)
    return out


def test_stock_model_gets_ort_fusions(optimized):
    _, h, _ = optimized["stock"]
    layers = optimized.layers
    assert h["Attention"] == layers and h["EmbedLayerNormalization"] == 1, h
    assert h["SkipLayerNormalization"] == 2 * layers and h["BiasGelu"] == layers, h


@pytest.mark.parametrize("variant", ["padded", "packed"])
def test_our_model_gets_the_same_fusions(optimized, variant):
    _, stock, _ = optimized["stock"]
    _, h, _ = optimized[variant]
    layers = optimized.layers
    for fused in ("EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu"):
        assert h.get(fused) == stock[fused], (fused, h)
    assert h[contract.OP_TYPE] == layers
    # Per layer: the QKV projection (MatMul + bias Add, ORT's Attention holds both) and no other layer work.
    assert h["MatMul"] == stock["MatMul"] + layers and h["Add"] == layers, h
    assert "LayerNormalization" not in h and "Split" not in h and "Attention" not in h, h
    if variant == "padded":
        assert "Gather" not in h and "Slice" not in h, h  # embeddings and positions live in EmbedLayerNormalization


@pytest.mark.parametrize("variant", ["padded", "packed"])
def test_attention_reads_the_fused_projection_in_place(optimized, variant):
    model = onnx.load(str(optimized[variant][2]))
    producers = {o: n for n in model.graph.node for o in n.output}
    nodes = [n for n in model.graph.node if n.op_type == contract.OP_TYPE]
    assert len(nodes) == optimized.layers
    for node in nodes:
        assert list(node.input[1:3]) == ["", ""], node.input
        source = producers[node.input[0]]
        if variant == "packed":  # [1, T, 3*hidden] -> [T, 3*hidden] as a view, not a Gather copy
            assert source.op_type == "Squeeze", source.op_type
            source = producers[source.input[0]]
        assert source.op_type == "Add" and producers[source.input[1]].op_type == "MatMul", source


@pytest.mark.parametrize("variant", ["padded", "packed"])
def test_embedding_positions(optimized, variant):
    """Padded: positions 0..S-1 left implicit (as the stock graph); packed: each token's own position (input 8)."""
    model = onnx.load(str(optimized[variant][2]))
    embed = next(n for n in model.graph.node if n.op_type == "EmbedLayerNormalization")
    explicit = len(embed.input) > 8 and bool(embed.input[8])
    assert explicit == (variant == "packed"), list(embed.input)


def _ragged_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([24, 7, 1, 16])
    mask = (torch.arange(24)[None] < lengths[:, None]).long()
    ids = torch.randint(100, 2048, (4, 24), generator=g) * mask
    token_types = (torch.arange(24)[None] >= 4).long() * mask
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": token_types}


@pytest.mark.parametrize("variant", ["stock", "padded", "packed"])
def test_optimized_model_matches_pytorch(optimized, variant, ort_library):
    batch = _ragged_batch()
    with torch.no_grad():
        hidden, embedding = (t.numpy() for t in optimized["stock"][0](**batch))  # the unmodified model
    sess = ort.session(optimized[variant][2])
    got_hidden, got_embedding = sess.run(None, {k: v.numpy() for k, v in batch.items()})
    valid = batch["attention_mask"].numpy()[..., None] > 0
    assert np.abs((got_hidden - hidden) * valid).max() < 1e-4
    assert np.abs(got_embedding - embedding).max() < 1e-5
