"""End to end: our exported encoder vs the same model exported and optimized the stock way, in ORT CUDA fp16.

stock  = unmodified Hugging Face model -> torch.onnx (legacy) -> ORT transformers optimizer (fused Attention,
         EmbedLayerNormalization, SkipLayerNormalization, BiasGelu) -> fp16; timed as it is ("stock") and converted
         to ORT's packing mode ("stock packing mode": onnxruntime.transformers.convert_to_packing_mode turns every
         Attention into PackedAttention between one RemovePadding and one RestorePadding)
ours   = attention patched to EncoderOnlyAttention -> same export -> the same optimizer around our node -> fp16,
         padded ("ours") and with tokens packed once at the input, unpacked at the output ("ours packed")
Both padded models are also timed with ORT's CUDA graphs at B1 and B8 S128, where launch cost is a visible share.
Random weights (speed does not depend on them); accuracy is checked against the fp32 PyTorch model.

Building the ONNX models needs no GPU (export, the optimizer and the packing conversion are Python on the CPU):
`encoders`, `onnx_models` and the bookkeeping (`summarize`, `markdown`, `plot`) are tested on the CPU.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..export import PackedSentenceEncoder, SentenceEncoder
from ..graph.ort_optimizer import optimize_for_ort
from .ort_peers import Bound, session
from .shapes import ragged_lengths
from .timing import Timer

VOCAB_SIZE = 30522  # BERT's; only the embedding table's size depends on it
MODELS = {
    "MiniLM-L6 (384, 12 heads)": dict(hidden_size=384, num_attention_heads=12, num_hidden_layers=6,
                                      intermediate_size=1536),
    "BERT-base (768, 12 heads)": dict(hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
                                      intermediate_size=3072),
}
POOLING = {"mode": "mean", "normalize": True}
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("last_hidden_state", "sentence_embedding")
RAGGED_RANGE = (16, 512)  # clip of the synthetic log-normal lengths (shapes.ragged_lengths: around 64)

# The four ONNX models built per encoder shape.
STOCK, STOCK_PACKING, OURS, OURS_PACKED = "stock", "stock packing mode", "ours", "ours packed"


@dataclass(frozen=True)
class Batch:
    name: str
    lengths: tuple[int, ...]  # valid tokens per sequence; the batch is padded to the longest
    cuda_graph: bool = False  # whether the CUDA-graph variants are timed on it

    @property
    def size(self) -> int:
        return len(self.lengths)

    @property
    def seq(self) -> int:
        return max(self.lengths)


def dense_batch(batch: int, seq: int, cuda_graph: bool = False) -> Batch:
    return Batch(f"B{batch} S{seq}", (seq,) * batch, cuda_graph)


def ragged_batch(batch: int) -> Batch:
    low, high = RAGGED_RANGE
    lengths = ragged_lengths(batch, low, high)
    return Batch(f"ragged B{batch} S{max(lengths)} (synthetic lengths {low}-{high})", lengths)


# CUDA graphs at B1 and B8 only: there the per-kernel launch cost is a large share of a call; larger batches are
# GPU-bound, and a captured graph replays one fixed shape, which a server sees only at small fixed batches.
BATCHES = (dense_batch(1, 128, cuda_graph=True), dense_batch(8, 128, cuda_graph=True), dense_batch(64, 128),
           dense_batch(32, 512), ragged_batch(8), ragged_batch(64))


def side_of(variant: str) -> str:
    """'stock' or 'ours': which side of the speed-up a variant counts for (every name starts with its side)."""
    return variant.split()[0]


@dataclass(frozen=True)
class Variant:
    name: str  # the record's "variant"
    label: str  # its column in the table
    model: str  # which of the four ONNX models it runs
    cuda_graph: bool = False

    @property
    def side(self) -> str:
        return side_of(self.name)

    @property
    def needs_library(self) -> bool:
        return self.side == "ours"


# No CUDA-graph variant of the packed models: their token count comes from the mask at run time (RemovePadding,
# NonZero), a data-dependent shape that a captured graph cannot replay.
VARIANTS = (
    Variant("stock", "stock optimized", STOCK),
    Variant("stock packing mode", "stock packing mode", STOCK_PACKING),
    Variant("stock CUDA graph", "stock optimized + CUDA graph", STOCK, cuda_graph=True),
    Variant("ours", "ours padded", OURS),
    Variant("ours packed", "ours packed", OURS_PACKED),
    Variant("ours CUDA graph", "ours padded + CUDA graph", OURS, cuda_graph=True),
)
VARIANT_BY_NAME = {v.name: v for v in VARIANTS}


# ---------------------------------------------------------------------------------------------- the models (CPU)

def bert_config(vocab_size: int = VOCAB_SIZE, **shape):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, attn_implementation="eager", **shape)


def encoders(config) -> dict[str, torch.nn.Module]:
    """The stock, ours (padded) and ours packed sentence encoders of one random BERT (the same weights)."""
    from transformers import BertModel

    from ..models import get_recipe

    bert = get_recipe("bert")
    torch.manual_seed(0)
    model = BertModel(config).eval()
    padded, packed = copy.deepcopy(model), copy.deepcopy(model)
    return {STOCK: SentenceEncoder(model, POOLING).eval(),
            OURS: SentenceEncoder(padded, POOLING, bert.patch(padded)).eval(),
            OURS_PACKED: PackedSentenceEncoder(packed, POOLING, bert.patch(packed, layout="packed")).eval()}


def export_onnx(module: torch.nn.Module, path: Path, vocab_size: int) -> None:
    """torch.onnx legacy export with dynamic batch and sequence (the example has one padded row, so the
    mask path is traced as it runs on ragged batches)."""
    ids = torch.randint(1, vocab_size, (2, 16))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow in Hugging Face code
        torch.onnx.export(module, (ids, mask, torch.zeros_like(ids)), str(path), dynamo=False,
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}, opset_version=17)


def optimized_model(module: torch.nn.Module, config, folder: Path, name: str, fp16: bool = True) -> Path:
    """Export, then ORT's transformers optimizer (with our node taught to it: encexport.graph.ort_optimizer)."""
    raw, optimized = folder / f"{name}.onnx", folder / f"{name}.opt.onnx"
    export_onnx(module, raw, config.vocab_size)
    optimize_for_ort(raw, optimized, num_heads=config.num_attention_heads, hidden_size=config.hidden_size, fp16=fp16)
    return optimized


def packing_mode_model(optimized: Path, out: Path) -> Path:
    """ORT's own token packing of an optimized model: RemovePadding after the embedding, PackedAttention in every
    layer, RestorePadding after the last layer norm (onnxruntime.transformers.convert_to_packing_mode)."""
    import onnx
    # Imported as ORT's tools import each other (its folder on sys.path), so OnnxModel is the class it expects.
    from onnxruntime.transformers import convert_to_packing_mode as packing

    model = packing.OnnxModel(onnx.load(str(optimized)))
    packing.PackingMode(model).convert()
    ops = {n.op_type for n in model.model.graph.node}
    # The conversion logs and returns unchanged when it cannot apply (no fused Attention, no shared mask).
    if "PackedAttention" not in ops or "RemovePadding" not in ops:
        raise ValueError(f"convert_to_packing_mode left {optimized.name} unpacked (no fused Attention with one mask)")
    model.save_model_to_file(str(out))
    return out


def onnx_models(modules: dict[str, torch.nn.Module], config, folder: Path, fp16: bool = True) -> dict[str, Path]:
    """The four models of the table: stock optimized, stock packing mode, ours padded, ours packed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: optimized_model(module, config, folder, name.replace(" ", "_"), fp16)
             for name, module in modules.items()}
    paths[STOCK_PACKING] = packing_mode_model(paths[STOCK], folder / "stock_packing_mode.onnx")
    return paths


def random_batch(lengths: tuple[int, ...], vocab_size: int) -> dict[str, torch.Tensor]:
    """Random token ids, right-padded (id 0) to the longest sequence, with the matching mask."""
    batch, seq = len(lengths), max(lengths)
    g = torch.Generator().manual_seed(batch * seq)
    ids = torch.randint(1, vocab_size, (batch, seq), generator=g)
    mask = (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    return {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


# ------------------------------------------------------------------------------------------ the timing (GPU)

def min_cosine(got: torch.Tensor, reference: torch.Tensor) -> float:
    got, reference = got.detach().double().cpu(), reference.detach().double().cpu()
    return float(torch.nn.functional.cosine_similarity(got, reference, dim=-1).min())


def time_variant(variant: Variant, model: Path, feeds: dict[str, torch.Tensor], hidden_size: int,
                 reference: torch.Tensor, timer: Timer) -> dict:
    """ms per call (back to back, io_binding to fixed tensors) and min cosine of the embedding after the timing."""
    batch, seq = feeds["input_ids"].shape
    outputs = {"last_hidden_state": torch.empty(batch, seq, hidden_size, device="cuda"),
               "sentence_embedding": torch.empty(batch, hidden_size, device="cuda")}
    sess = session(model.read_bytes(), with_library=variant.needs_library, cuda_graph=variant.cuda_graph)
    run = Bound(sess, feeds, outputs)  # runs once: a graph that cannot be captured fails here or in the warm-up
    ms = timer.back_to_back_us(run) / 1e3
    # Read after the timed calls: with a CUDA graph these are the replayed graph's numbers, not the first run's.
    return {"ms": ms, "min_cosine": min_cosine(outputs["sentence_embedding"], reference)}


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:240]


def time_batch(model_name: str, batch: Batch, paths: dict[str, Path], reference_model: torch.nn.Module, config,
               timer: Timer, log: Callable[[str], None]) -> list[dict]:
    """One record per variant that applies to the batch; a variant that fails is recorded with its reason."""
    feeds = {k: v.cuda() for k, v in random_batch(batch.lengths, config.vocab_size).items()}
    with torch.no_grad():
        reference = reference_model(**feeds)[1]
    # The feeds must be written before a CUDA-graph session reads them: it runs on ORT's own stream, not torch's.
    torch.cuda.synchronize()
    rows = []
    for variant in VARIANTS:
        if variant.cuda_graph and not batch.cuda_graph:
            continue
        row = {"model": model_name, "batch": batch.name, "variant": variant.name}
        where = f"[e2e] {model_name:26s} {batch.name:40s} {variant.name:20s}"
        try:
            row.update(time_variant(variant, paths[variant.model], feeds, config.hidden_size, reference, timer))
            log(f"{where} {row['ms']:8.3f} ms  cos {row['min_cosine']:.5f}")
        except Exception as exc:  # reported in the table with its reason, never fatal
            row["note"] = first_line(exc)
            log(f"{where} n/a: {row['note']}")
        rows.append(row)
        torch.cuda.empty_cache()
    return rows


def run_e2e(iters: int = 50, log=print) -> list[dict]:
    """One record per (model, batch, variant): {model, batch, variant, ms, min_cosine} or {..., note} when n/a."""
    timer = Timer(iters=iters)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (model_name, shape) in enumerate(MODELS.items()):
            log(f"[e2e] {model_name}: exporting and optimizing the stock and our models (CPU)")
            config = bert_config(**shape)
            modules = encoders(config)
            paths = onnx_models(modules, config, Path(tmp) / f"model{index}")
            # The fp32 reference runs in PyTorch on the GPU (torch's default fp32 matmuls, no TF32): the CPU would
            # take minutes for the large batches.
            reference_model = modules[STOCK].cuda()
            for batch in BATCHES:
                rows += time_batch(model_name, batch, paths, reference_model, config, timer, log)
            del modules, reference_model
            torch.cuda.empty_cache()
    return rows


# -------------------------------------------------------------------------------------------- the report

def summarize(rows: list[dict]) -> list[dict]:
    """One entry per (model, batch): each variant's ms / min cosine / n/a reason, the fastest variant of each side
    and the speed-up = best stock ms / best ours ms (None when a side has no timing)."""
    out = []
    for model, batch in dict.fromkeys((r["model"], r["batch"]) for r in rows):
        by = {r["variant"]: r for r in rows if r["model"] == model and r["batch"] == batch}
        ms = {v: r["ms"] for v, r in by.items() if r.get("ms") is not None}
        best = {side: min((v for v in ms if side_of(v) == side), key=ms.get, default=None)
                for side in ("stock", "ours")}
        speedup = ms[best["stock"]] / ms[best["ours"]] if best["stock"] and best["ours"] else None
        out.append({"model": model, "batch": batch, "ms": ms,
                    "min_cosine": {v: r["min_cosine"] for v, r in by.items() if r.get("min_cosine") is not None},
                    "notes": {v: r["note"] for v, r in by.items() if r.get("ms") is None and r.get("note")},
                    "best_stock": best["stock"], "best_ours": best["ours"], "speedup": speedup})
    return out


def _label(variant: str) -> str:
    known = VARIANT_BY_NAME.get(variant)
    return known.label if known else variant


def _ms_cell(entry: dict, variant: str) -> str:
    if variant in entry["ms"]:
        return f"{entry['ms'][variant]:.3f}"
    return "n/a" if variant in entry["notes"] else "—"


def _speedup_cell(entry: dict) -> str:
    if entry["speedup"] is None:
        return "n/a"
    return f"**{entry['speedup']:.2f}×** ({_label(entry['best_stock'])} / {_label(entry['best_ours'])})"


def _cosine_cell(entry: dict) -> str:
    """The worst variant of each side: one low cosine anywhere shows."""
    worst = [min((c for v, c in entry["min_cosine"].items() if side_of(v) == side), default=None)
             for side in ("stock", "ours")]
    return " / ".join("n/a" if c is None else f"{c:.5f}" for c in worst)


HEADER = """\
## End to end (ORT CUDA, fp16, random weights)

**Stock**: the unmodified Hugging Face model, torch.onnx (legacy) export, ONNX Runtime's transformers optimizer (fused
Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu), fp16; *optimized* as it comes out, and in ORT's
*packing mode* (`convert_to_packing_mode`: RemovePadding, PackedAttention, RestorePadding). **Ours**: the same model
with its attention patched to `encexport::EncoderOnlyAttention`, the same export and optimizer, *padded* or *packed*
(tokens packed once at the input). Time: median of back-to-back io_binding calls, each returning when the GPU is
done. Speed-up = fastest stock / fastest ours, CUDA graphs included. Min cosine: sentence embedding vs the fp32
PyTorch stock model (worst sentence, worst variant of each side). Ragged: synthetic log-normal lengths (16-512) padded
to the batch's longest (its S). CUDA graphs (`enable_cuda_graph`) only at B1 and B8 S128, where kernel launches weigh
most; none for the packed models, whose token count comes from the mask at run time (a data-dependent shape that a
captured graph cannot replay). — = not run; n/a = failed (reason below the table).
"""


def markdown(rows: list[dict]) -> str:
    summary = summarize(rows)
    labels = [v.label + " (ms)" for v in VARIANTS]
    lines = [HEADER, "| model | batch | " + " | ".join(labels) + " | speed-up | min cosine (stock / ours) |",
             "|---|---|" + "---|" * (len(labels) + 2)]
    for e in summary:
        cells = [e["model"], e["batch"], *(_ms_cell(e, v.name) for v in VARIANTS), _speedup_cell(e), _cosine_cell(e)]
        lines.append("| " + " | ".join(cells) + " |")
    failures = [f"- {e['model']}, {e['batch']}, {_label(v)}: {note}" for e in summary for v, note in e["notes"].items()]
    if failures:
        lines += ["", "n/a:", *failures]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, source: dict | None = None) -> bool:
    """Speed-up (fastest stock / fastest ours) per batch, one bar per model, stamped with the commit measured
    (`source`); False when matplotlib is missing."""
    from .figures import save_stamped

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summary = summarize(rows)
    models = list(dict.fromkeys(e["model"] for e in summary))
    batches = list(dict.fromkeys(e["batch"] for e in summary))
    fig, ax = plt.subplots(figsize=(max(8, len(batches) * 1.4), 4.5))
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        speedups = [next((e["speedup"] or 0 for e in summary if e["model"] == model and e["batch"] == b), 0)
                    for b in batches]
        bars = ax.bar([x + i * width for x in range(len(batches))], speedups, width, label=model)
        ax.bar_label(bars, labels=[f"{s:.2f}×" if s else "n/a" for s in speedups], fontsize=7)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(batches))])
    ax.set_xticklabels([b.replace(" (", "\n(") for b in batches], fontsize=8)
    ax.set_ylabel("fastest stock time / fastest ours time")
    ax.set_title("End to end, ORT CUDA fp16: encexport vs the stock ORT-optimized model (higher is better)",
                 fontsize=10)
    ax.legend()
    save_stamped(fig, path, source)
    plt.close(fig)
    return True
