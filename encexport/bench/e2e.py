"""End to end: our exported encoder vs the same model exported and optimized the stock way, in ORT CUDA fp16.

stock  = unmodified Hugging Face model -> torch.onnx (legacy) -> ORT transformers optimizer (fused Attention,
         EmbedLayerNormalization, SkipLayerNormalization, BiasGelu) -> fp16
ours   = attention patched to EncoderOnlyAttention -> same export -> the same optimizer around our node -> fp16
packed = ours with tokens packed once at the input (no padding work anywhere), unpacked at the output
Random weights (speed does not depend on them); accuracy is checked against the fp32 PyTorch model.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..export import PackedSentenceEncoder, SentenceEncoder
from ..optimize import optimize_for_ort
from .ort_peers import _session
from .shapes import ragged_lengths
from .timing import Timer

MODELS = {
    "MiniLM-L6 (384, 12 heads)": dict(hidden_size=384, num_attention_heads=12, num_hidden_layers=6,
                                      intermediate_size=1536),
    "BERT-base (768, 12 heads)": dict(hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
                                      intermediate_size=3072),
}
BATCHES = {"B64 S128": (64, 128, None), "B32 S512": (32, 512, None), "ragged B64 (16-512)": (64, 512, "ragged")}
POOLING = {"mode": "mean", "normalize": True}


def _encoders(config_kwargs):
    from transformers import BertConfig, BertModel

    from models import bert

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, attn_implementation="eager", **config_kwargs)
    model = BertModel(config).eval()
    variants = {"stock": SentenceEncoder(model, POOLING).eval()}
    padded = copy.deepcopy(model)
    variants["ours"] = SentenceEncoder(padded, POOLING, bert.patch(padded)).eval()
    packed = copy.deepcopy(model)
    variants["ours packed"] = PackedSentenceEncoder(packed, POOLING, bert.patch(packed, layout="packed")).eval()
    return variants, config


def _export(module, path: Path) -> None:
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad():
        torch.onnx.export(module, (ids, mask, torch.zeros_like(ids)), str(path), dynamo=False, input_names=names,
                          output_names=["last_hidden_state", "sentence_embedding"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names}, opset_version=17)


def _batch(batch: int, seq: int, ragged) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(batch * seq)
    lengths = torch.tensor(ragged_lengths(batch, 16, seq) if ragged else [seq] * batch)
    ids = torch.randint(1000, 30000, (batch, seq), generator=g)
    mask = (torch.arange(seq)[None, :] < lengths[:, None]).long()
    return {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def run_e2e(iters: int = 50, log=print) -> list[dict]:
    timer = Timer(iters=iters, flush_l2=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model_name, cfg in MODELS.items():
            variants, config = _encoders(cfg)
            paths = {}
            for name, module in variants.items():
                raw, opt = Path(tmp) / f"{name}.onnx", Path(tmp) / f"{name}.opt16.onnx"
                _export(module, raw)
                optimize_for_ort(raw, opt, num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
                paths[name] = opt
            for batch_name, (B, S, ragged) in BATCHES.items():
                cpu_batch = _batch(B, S, ragged)
                with torch.no_grad():
                    reference = variants["stock"](**cpu_batch)[1].numpy()
                feeds = {k: v.cuda() for k, v in cpu_batch.items()}
                for name, path in paths.items():
                    row = {"model": model_name, "batch": batch_name, "variant": name}
                    try:
                        sess = _session(path.read_bytes(), with_library=name != "stock")
                        hidden = torch.empty(B, S, config.hidden_size, device="cuda")
                        emb = torch.empty(B, config.hidden_size, device="cuda")
                        binding = sess.io_binding()
                        for k, v in feeds.items():
                            binding.bind_input(k, "cuda", 0, np.int64, list(v.shape), v.data_ptr())
                        for out_name, out in (("last_hidden_state", hidden), ("sentence_embedding", emb)):
                            binding.bind_output(out_name, "cuda", 0, np.float32, list(out.shape), out.data_ptr())

                        def run(binding=binding, sess=sess):
                            sess.run_with_iobinding(binding)

                        run()
                        got = emb.cpu().numpy().astype(np.float64)
                        cos = (got * reference).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(reference, axis=-1))
                        row.update(ms=timer.median_us(run) / 1e3, min_cosine=float(cos.min()))
                        log(f"[e2e] {model_name:26s} {batch_name:20s} {name:12s} {row['ms']:8.3f} ms  "
                            f"cos {row['min_cosine']:.5f}")
                    except Exception as exc:  # reported in the table, not fatal
                        row["note"] = str(exc).splitlines()[0][:160]
                        log(f"[e2e] {model_name:26s} {batch_name:20s} {name:12s} n/a: {row['note']}")
                    rows.append(row)
                    torch.cuda.empty_cache()
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["## End to end (ORT CUDA, fp16, random weights)", "",
             "| model | batch | stock optimized (ms) | ours (ms) | ours packed (ms) | speed-up (best ours) | min cosine vs fp32 PyTorch (stock / ours / packed) |",
             "|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["model"], r["batch"]) for r in rows))
    for model, batch in keys:
        by = {r["variant"]: r for r in rows if r["model"] == model and r["batch"] == batch}

        def ms(v):
            return f"{by[v]['ms']:.3f}" if v in by and "ms" in by[v] else "n/a"

        def cos(v):
            return f"{by[v]['min_cosine']:.4f}" if v in by and "min_cosine" in by[v] else "n/a"

        ours = [by[v]["ms"] for v in ("ours", "ours packed") if v in by and "ms" in by[v]]
        speed = f"**{by['stock']['ms'] / min(ours):.2f}×**" if ours and "ms" in by.get("stock", {}) else "n/a"
        lines.append(f"| {model} | {batch} | {ms('stock')} | {ms('ours')} | {ms('ours packed')} | {speed} | "
                     f"{cos('stock')} / {cos('ours')} / {cos('ours packed')} |")
    return "\n".join(lines) + "\n"
