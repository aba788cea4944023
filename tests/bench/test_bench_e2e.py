"""The end-to-end benchmark without a GPU: its bookkeeping on made-up timings (speed-up over the fastest variant of
each side, CUDA-graph entries included, n/a entries with their reason), its batches, its plot, and the four ONNX
models it times, built from a tiny BERT through the same functions (export, ORT's optimizer, ORT's packing mode)."""

from __future__ import annotations

import collections

import onnx
import pytest
import torch

from encexport import contract
from encexport.bench import e2e

MINI, BASE = "MiniLM-L6 (384, 12 heads)", "BERT-base (768, 12 heads)"
GRAPH_NOTE = "This session cannot use the CUDA Graph feature as requested by the user"
TINY = dict(hidden_size=64, num_attention_heads=4, num_hidden_layers=2, intermediate_size=256)


def _row(model, batch, variant, ms=None, cos=None, note=None):
    row = {"model": model, "batch": batch, "variant": variant}
    if ms is not None:
        row.update(ms=ms, min_cosine=cos)
    else:
        row["note"] = note
    return row


def _rows():
    return [
        # B1: every variant timed; the fastest of each side is a CUDA-graph entry.
        _row(MINI, "B1 S128", "stock", 1.0, 0.99999),
        _row(MINI, "B1 S128", "stock packing mode", 1.2, 0.99998),
        _row(MINI, "B1 S128", "stock CUDA graph", 0.5, 0.99997),
        _row(MINI, "B1 S128", "ours", 0.9, 0.99996),
        _row(MINI, "B1 S128", "ours packed", 0.8, 0.99995),
        _row(MINI, "B1 S128", "ours CUDA graph", 0.4, 0.99994),
        # B8: ours' graph could not be captured (n/a): the fastest of ours is then the packed model.
        _row(MINI, "B8 S128", "stock", 2.0, 1.0),
        _row(MINI, "B8 S128", "stock packing mode", 1.5, 1.0),
        _row(MINI, "B8 S128", "stock CUDA graph", 1.8, 1.0),
        _row(MINI, "B8 S128", "ours", 1.9, 1.0),
        _row(MINI, "B8 S128", "ours packed", 1.0, 1.0),
        _row(MINI, "B8 S128", "ours CUDA graph", note=GRAPH_NOTE),
        # A ragged batch: no CUDA-graph entries at all, the stock packing mode failed.
        _row(BASE, "ragged B64 S374 (synthetic lengths 16-512)", "stock", 6.0, 0.9999),
        _row(BASE, "ragged B64 S374 (synthetic lengths 16-512)", "stock packing mode", note="CUDA out of memory"),
        _row(BASE, "ragged B64 S374 (synthetic lengths 16-512)", "ours", 5.0, 0.99991),
        _row(BASE, "ragged B64 S374 (synthetic lengths 16-512)", "ours packed", 2.0, 0.99992),
        # Every ours variant failed: no speed-up.
        _row(BASE, "B32 S512", "stock", 8.0, 1.0),
        _row(BASE, "B32 S512", "ours", note="library not found"),
        _row(BASE, "B32 S512", "ours packed", note="library not found"),
    ]


def test_speedup_is_fastest_stock_over_fastest_ours_cuda_graphs_included():
    b1, b8, ragged, failed = e2e.summarize(_rows())
    assert (b1["best_stock"], b1["best_ours"]) == ("stock CUDA graph", "ours CUDA graph")
    assert b1["speedup"] == pytest.approx(0.5 / 0.4)
    assert (b8["best_stock"], b8["best_ours"]) == ("stock packing mode", "ours packed")
    assert b8["speedup"] == pytest.approx(1.5 / 1.0)
    assert b8["notes"] == {"ours CUDA graph": GRAPH_NOTE} and "ours CUDA graph" not in b8["ms"]
    assert ragged["speedup"] == pytest.approx(6.0 / 2.0)
    assert failed["best_ours"] is None and failed["speedup"] is None


def test_markdown_has_one_row_per_model_and_batch_with_every_variant():
    text = e2e.markdown(_rows())
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    for v in e2e.VARIANTS:
        assert f"{v.label} (ms)" in header
    assert len(rows) == 4
    b1, b8, ragged, failed = ([c.strip() for c in row.strip("|").split("|")] for row in rows)
    assert b1[:8] == [MINI, "B1 S128", "1.000", "1.200", "0.500", "0.900", "0.800", "0.400"]
    assert b1[8] == "**1.25×** (stock optimized + CUDA graph / ours padded + CUDA graph)"
    assert b1[9] == "0.99997 / 0.99994"  # the worst variant of each side
    assert b8[7] == "n/a" and b8[8].startswith("**1.50×** (stock packing mode / ours packed)")
    # Not run (no CUDA graph on ragged batches): a dash, not n/a.
    assert ragged[2:8] == ["6.000", "n/a", "—", "5.000", "2.000", "—"]
    assert failed[8] == "n/a" and failed[9] == "1.00000 / n/a"
    # Every n/a is explained under the table.
    assert f"- {MINI}, B8 S128, ours padded + CUDA graph: {GRAPH_NOTE}" in text
    assert f"- {BASE}, B32 S512, ours packed: library not found" in text
    assert text.count("\n- ") == 4


def test_markdown_says_what_stock_and_ours_are():
    text = " ".join(e2e.markdown(_rows()).split())
    for words in ("convert_to_packing_mode", "PackedAttention", "encexport::EncoderOnlyAttention",
                  "transformers optimizer", "fp32 PyTorch", "enable_cuda_graph", "data-dependent"):
        assert words in text


def test_batches_are_the_advertised_ones():
    names = [b.name for b in e2e.BATCHES]
    assert names[:4] == ["B1 S128", "B8 S128", "B64 S128", "B32 S512"]
    ragged = e2e.BATCHES[4:]
    assert [b.size for b in ragged] == [8, 64]
    for b in ragged:
        # Padded to the batch's longest sequence, not to the clip's 512.
        assert b.seq == max(b.lengths) < 512 and min(b.lengths) >= 16
        assert b.name == f"ragged B{b.size} S{b.seq} (synthetic lengths 16-512)"
    assert [b.name for b in e2e.BATCHES if b.cuda_graph] == ["B1 S128", "B8 S128"]


def test_random_batch_is_right_padded_to_the_longest_sequence():
    lengths = (5, 12, 3)
    feeds = e2e.random_batch(lengths, vocab_size=512)
    assert set(feeds) == set(e2e.INPUT_NAMES)
    assert feeds["input_ids"].shape == (3, 12)
    assert feeds["attention_mask"].sum(-1).tolist() == list(lengths)
    assert (feeds["input_ids"][feeds["attention_mask"] == 0] == 0).all()
    assert (feeds["input_ids"][feeds["attention_mask"] == 1] > 0).all()


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "e2e.png"
    assert e2e.plot(_rows(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_so(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert e2e.plot(_rows(), tmp_path / "e2e.png") is False


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """The four models of the table for a tiny BERT (2 layers, hidden 64, 4 heads, vocabulary 512), fp16 as timed."""
    config = e2e.bert_config(vocab_size=512, **TINY)
    return e2e.onnx_models(e2e.encoders(config), config, tmp_path_factory.mktemp("e2e"))


def _ops(path) -> collections.Counter:
    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def test_stock_packing_mode_replaces_every_attention(tiny_models):
    layers = TINY["num_hidden_layers"]
    stock, packing = _ops(tiny_models[e2e.STOCK]), _ops(tiny_models[e2e.STOCK_PACKING])
    assert stock["Attention"] == layers and stock["EmbedLayerNormalization"] == 1, stock
    assert packing["PackedAttention"] == layers and packing["Attention"] == 0, packing
    assert packing["RemovePadding"] == 1 and packing["RestorePadding"] == 1, packing
    assert packing["SkipLayerNormalization"] == stock["SkipLayerNormalization"]


def test_every_model_has_the_inputs_and_outputs_the_benchmark_binds(tiny_models):
    assert set(tiny_models) == {e2e.STOCK, e2e.STOCK_PACKING, e2e.OURS, e2e.OURS_PACKED}
    for path in tiny_models.values():
        graph = onnx.load(str(path)).graph
        assert tuple(i.name for i in graph.input) == e2e.INPUT_NAMES
        assert tuple(o.name for o in graph.output) == e2e.OUTPUT_NAMES
        # fp16 inside, fp32 at the outputs (the benchmark binds float32 buffers).
        assert all(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for o in graph.output)
    for name in (e2e.OURS, e2e.OURS_PACKED):
        ops = _ops(tiny_models[name])
        assert ops[contract.OP_TYPE] == TINY["num_hidden_layers"] and ops["Attention"] == 0, ops


def test_packing_mode_refuses_a_model_without_fused_attention(tiny_models, tmp_path):
    with pytest.raises(ValueError, match="left ours.opt.onnx unpacked"):
        e2e.packing_mode_model(tiny_models[e2e.OURS], tmp_path / "x.onnx")


def test_stock_model_is_the_fp32_reference_it_is_compared_with():
    """The accuracy column's reference: the stock encoder of the same weights as ours (one random BERT)."""
    config = e2e.bert_config(vocab_size=512, **TINY)
    modules = e2e.encoders(config)
    feeds = e2e.random_batch((7, 3), vocab_size=512)
    with torch.no_grad():
        reference = modules[e2e.STOCK](**feeds)[1]
        ours = modules[e2e.OURS](**feeds)[1]
    assert e2e.min_cosine(ours, reference) > 0.99999
