"""The ONNX contract of the attention node: the single source of truth.

Everything that writes or reads the node (the exporters, the ORT library's checks, the TensorRT plugin's
fields, docs/onnx-contract.md) follows this module. The C++ side reads it through
plugins/include/encexport/contract.h, generated from here (`python -m encexport.contract_files`); the
attribute rules below are mirrored once in plugins/common/node_attributes.cc, and
tests/core/test_contract_doc.py fails when the header, the doc or the C++ rules drift from this module.
An incompatible change bumps PLUGIN_VERSION.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DOMAIN = "encexport"
OP_TYPE = "EncoderOnlyAttention"
PLUGIN_VERSION = "1"
PLUGIN_NAMESPACE = ""
# Opset version of the custom domain written into the model's opset_import.
DOMAIN_VERSION = 1

LAYOUTS = ("padded", "packed")
# Kernel families a node may request; `auto` lets the runtime choose per shape and device.
BACKENDS = ("auto", "reference", "flash", "cudnn", "hopper")
MAX_HEAD_SIZE = 256
# Far above any real model; keeps num_heads*head_size and every head index well inside int32.
MAX_NUM_HEADS = 1 << 16
# The largest finite float32: scale is a FLOAT (float32) attribute.
MAX_SCALE = 3.4028234663852886e38


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    onnx_type: str  # INT, FLOAT, STRING
    required: bool
    default: object
    doc: str


ATTRIBUTES: tuple[AttributeSpec, ...] = (
    AttributeSpec("num_heads", "INT", True, None, f"query heads H, 1..{MAX_NUM_HEADS}"),
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
               "padded: valid length per sequence (absent = all S); packed: prefix sums, cu[0]=0, cu[B]=T. "
               "Out of range: the CPU op refuses the call; the CUDA op writes NaN rows (padded: every row of that "
               "sequence; packed: every row), or refuses the call with `ENCEXPORT_CHECKED_LENGTHS=1`"),
    TensorSpec("attn_bias", "[B or 1, H or 1, S, S] (optional)", "not accepted", "T",
               "additive bias: softmax(scale*q.k + bias); broadcast over batch and/or heads where the dimension is 1; "
               "only the valid block [:len, :len] of each sequence is read"),
)
# Index of the optional additive bias among INPUTS (the last one: nodes without it keep their four inputs).
BIAS_INPUT = 4
# The bias dimensions: [batch or 1, num_heads or 1, S (query rows), S (keys)].
BIAS_RANK = 4
OUTPUTS: tuple[TensorSpec, ...] = (
    TensorSpec("output", "[B, S, H*D]", "[T, H*D]", "T",
               "attention output; padded query rows are zeros; NaN rows for out-of-range lengths (CUDA)"),
)
# Environment variable of the CUDA op's checked mode: with it set to 1 (read once per process) the lengths are
# copied to the host and checked before every launch, and a bad one fails the call with a message naming it,
# as the CPU op always does. Without it the CUDA op never synchronises and marks bad sequences with NaN rows.
CHECKED_LENGTHS_ENV = "ENCEXPORT_CHECKED_LENGTHS"
DTYPES = ("float32", "float16", "bfloat16")


class ContractError(ValueError):
    """Attributes that break the contract. `attribute` names the one at fault, as the runtimes' messages do."""

    def __init__(self, attribute: str, message: str):
        super().__init__(message)
        self.attribute = attribute


def node_attributes(*, num_heads: int, num_kv_heads: int, head_size: int, scale: float, backend: str,
                    layout: str) -> dict[str, object]:
    """The attribute dict of one node, validated, in contract order."""
    validate_attributes(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size, backend=backend,
                        layout=layout, scale=scale)
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


def validate_attributes(*, num_heads: int, num_kv_heads: int, head_size: int, backend: str, layout: str,
                        scale: float | None = None, causal: int = 0, plugin_version: str = PLUGIN_VERSION,
                        plugin_namespace: str = PLUGIN_NAMESPACE) -> None:
    """Every value rule of the contract, in contract order, then the cross-field rule (ContractError on failure).

    plugins/common/node_attributes.cc applies the same rules in the same order; scale=None skips the scale check
    (the caller derives it later)."""
    if not 1 <= num_heads <= MAX_NUM_HEADS:
        raise ContractError("num_heads", f"num_heads must be positive and at most {MAX_NUM_HEADS}, got {num_heads}")
    if num_kv_heads <= 0:
        raise ContractError("num_kv_heads", f"num_kv_heads must be positive, got {num_kv_heads}")
    if num_heads % num_kv_heads:
        raise ContractError("num_kv_heads", f"num_heads ({num_heads}) must be a multiple of num_kv_heads "
                            f"({num_kv_heads}): each key/value head serves num_heads/num_kv_heads query heads")
    if not 1 <= head_size <= MAX_HEAD_SIZE:
        raise ContractError("head_size", f"head_size {head_size} is outside [1, {MAX_HEAD_SIZE}]")
    if scale is not None and not (math.isfinite(scale) and abs(scale) <= MAX_SCALE):
        raise ContractError("scale", f"scale must be finite (a float32 number), got {scale}")
    if causal != 0:
        raise ContractError("causal", f"causal = {causal} is not supported: the node is encoder-only "
                            "(bidirectional attention); export with causal=0")
    if backend not in BACKENDS:
        raise ContractError("backend", f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    if layout not in LAYOUTS:
        raise ContractError("layout", f"unknown layout {layout!r}; accepted: {', '.join(LAYOUTS)}")
    if plugin_version != PLUGIN_VERSION:
        raise ContractError("plugin_version", f"plugin_version {plugin_version!r} is not this contract's version "
                            f"{PLUGIN_VERSION!r}")
    if plugin_namespace != PLUGIN_NAMESPACE:
        raise ContractError("plugin_namespace", f"plugin_namespace {plugin_namespace!r} is not this contract's "
                            f"namespace {PLUGIN_NAMESPACE!r}")
    if backend == "cudnn" and layout != "padded":
        raise ContractError("backend", "backend 'cudnn' takes the padded layout only; use backend 'auto' or 'flash' "
                            "for packed tokens")


def _has_type(value: object, onnx_type: str) -> bool:
    if isinstance(value, bool):  # ONNX has no BOOL attribute; True would pass as an int
        return False
    return isinstance(value, {"INT": int, "FLOAT": float, "STRING": str}[onnx_type])


def resolve_attributes(attrs: Mapping[str, object]) -> dict[str, object]:
    """What a runtime makes of a node's attributes: every attribute in contract order, defaults filled in, or
    ContractError. Absent means missing or None; names outside the contract are ignored (a later contract may add
    optional attributes).

    The C++ runtimes do the same (plugins/common/node_attributes.cc, after each runtime's own type check):
    required attributes first, then validate_attributes' rules, then the derived defaults."""
    for a in ATTRIBUTES:
        value = attrs.get(a.name)
        if value is not None and not _has_type(value, a.onnx_type):
            raise ContractError(a.name, f"attribute {a.name!r} must be {a.onnx_type}, got {type(value).__name__}")
    for a in ATTRIBUTES:
        if a.required and attrs.get(a.name) is None:
            raise ContractError(a.name, f"missing attribute {a.name!r} ({a.onnx_type}, required)")
    values = {a.name: a.default if attrs.get(a.name) is None else attrs[a.name] for a in ATTRIBUTES}
    # The two defaults that are rules, not values (their `default` spells the rule).
    if attrs.get("num_kv_heads") is None:
        values["num_kv_heads"] = values["num_heads"]
    if attrs.get("scale") is None:
        values["scale"] = None  # derived below, once head_size is known to be valid
    validate_attributes(**values)
    if values["scale"] is None:
        values["scale"] = 1.0 / math.sqrt(values["head_size"])
    return values


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
