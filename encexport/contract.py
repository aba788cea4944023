"""The ONNX contract of the attention node: the single source of truth.

Everything that writes or reads the node (the exporters, the ORT library's checks, the TensorRT plugin's
fields, docs/onnx-contract.md) follows this module. An incompatible change bumps PLUGIN_VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "encexport"
OP_TYPE = "EncoderOnlyAttention"
PLUGIN_VERSION = "1"
PLUGIN_NAMESPACE = ""
# Opset version of the custom domain written into the model's opset_import.
DOMAIN_VERSION = 1

LAYOUTS = ("padded", "packed")
# Kernel families a node may request; `auto` lets the runtime choose per shape and device.
BACKENDS = ("auto", "reference", "flash", "cudnn")
MAX_HEAD_SIZE = 256


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    onnx_type: str  # INT, FLOAT, STRING
    required: bool
    default: object
    doc: str


ATTRIBUTES: tuple[AttributeSpec, ...] = (
    AttributeSpec("num_heads", "INT", True, None, "query heads H"),
    AttributeSpec("num_kv_heads", "INT", False, "num_heads", "key/value heads Hkv; divides H (GQA/MQA when < H)"),
    AttributeSpec("head_size", "INT", True, None, f"D, 1..{MAX_HEAD_SIZE}"),
    AttributeSpec("scale", "FLOAT", False, "1/sqrt(head_size)", "multiplies q.k before the softmax"),
    AttributeSpec("causal", "INT", False, 0, "always 0: the node is encoder-only; 1 is rejected"),
    AttributeSpec("backend", "STRING", False, "auto", "kernel family: " + ", ".join(BACKENDS)),
    AttributeSpec("layout", "STRING", False, "padded", "token layout: padded | packed"),
    AttributeSpec("plugin_version", "STRING", False, PLUGIN_VERSION, "contract version; TensorRT matches it to the plugin"),
    AttributeSpec("plugin_namespace", "STRING", False, PLUGIN_NAMESPACE, "TensorRT plugin namespace"),
)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    padded: str
    packed: str
    dtype: str
    doc: str


INPUTS: tuple[TensorSpec, ...] = (
    TensorSpec("query", "[B, S, H*D] or [B, S, (H+2*Hkv)*D]", "[T, H*D] or [T, (H+2*Hkv)*D]", "T",
               "projected queries, heads back to back in each row; with key and value empty, packed rows: "
               "q, k, v one after the other (no split copy)"),
    TensorSpec("key", "[B, S, Hkv*D] or empty", "[T, Hkv*D] or empty", "T",
               "projected keys; empty (\"\") together with value: packed in query"),
    TensorSpec("value", "[B, S, Hkv*D] or empty", "[T, Hkv*D] or empty", "T",
               "projected values; empty (\"\") together with key: packed in query"),
    TensorSpec("lengths", "seq_lens [B] (optional)", "cu_seqlens [B+1] (required)", "int32",
               "padded: valid length per sequence (absent = all S); packed: prefix sums, cu[0]=0, cu[B]=T"),
)
OUTPUTS: tuple[TensorSpec, ...] = (
    TensorSpec("output", "[B, S, H*D]", "[T, H*D]", "T", "attention output; padded query rows are zeros"),
)
DTYPES = ("float32", "float16", "bfloat16")


def node_attributes(*, num_heads: int, num_kv_heads: int, head_size: int, scale: float, backend: str,
                    layout: str) -> dict[str, object]:
    """The attribute dict of one node, validated, in contract order."""
    validate_attributes(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size, backend=backend,
                        layout=layout)
    return {
        "num_heads": int(num_heads),
        "num_kv_heads": int(num_kv_heads),
        "head_size": int(head_size),
        "scale": float(scale),
        "causal": 0,
        "backend": backend,
        "layout": layout,
        "plugin_version": PLUGIN_VERSION,
        "plugin_namespace": PLUGIN_NAMESPACE,
    }


def validate_attributes(*, num_heads: int, num_kv_heads: int, head_size: int, backend: str, layout: str) -> None:
    if num_heads <= 0 or num_kv_heads <= 0:
        raise ValueError(f"num_heads ({num_heads}) and num_kv_heads ({num_kv_heads}) must be positive")
    if num_heads % num_kv_heads:
        raise ValueError(f"num_heads ({num_heads}) must be a multiple of num_kv_heads ({num_kv_heads}): "
                         "each key/value head serves num_heads/num_kv_heads query heads")
    if not 1 <= head_size <= MAX_HEAD_SIZE:
        raise ValueError(f"head_size {head_size} is outside [1, {MAX_HEAD_SIZE}]")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; accepted: {', '.join(LAYOUTS)}")
    if backend == "cudnn" and layout != "padded":
        raise ValueError("backend 'cudnn' takes the padded layout only; use backend 'auto' or 'flash' for packed tokens")


def markdown_tables() -> str:
    """The attribute and tensor tables of docs/onnx-contract.md (generated so the doc cannot drift)."""
    rows = ["| attribute | type | required | default | meaning |", "|---|---|---|---|---|"]
    for a in ATTRIBUTES:
        default = "" if a.default is None else f"`{a.default}`" if a.default != "" else '`""`'
        rows.append(f"| `{a.name}` | {a.onnx_type} | {'yes' if a.required else 'no'} | {default} | {a.doc} |")
    rows += ["", "| # | tensor | padded layout | packed layout | dtype | meaning |", "|---|---|---|---|---|---|"]
    for i, t in enumerate(INPUTS):
        rows.append(f"| in {i} | `{t.name}` | {t.padded} | {t.packed} | {t.dtype} | {t.doc} |")
    for i, t in enumerate(OUTPUTS):
        rows.append(f"| out {i} | `{t.name}` | {t.padded} | {t.packed} | {t.dtype} | {t.doc} |")
    return "\n".join(rows)
