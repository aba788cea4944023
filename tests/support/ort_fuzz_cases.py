"""Seeded generator of EncoderOnlyAttention nodes and inputs for the ORT fuzz (valid, malformed, hostile).

Case i of seed s is drawn from its own generator `default_rng([s, i])`, so any single case can be replayed
alone (`make_case(s, i)`) from the seed/index a failure message prints. Only numpy and onnx are imported: the
runner subprocess (and its valgrind run) must start fast, so torch stays in the parent that checks numbers.

A case says what must happen: expect "ok" (the parent compares the output with tests/reference.py) or
"refuse" with keywords that the ORT error message must all contain (lower-cased).

Input forms: most cases pass query, key and value separately; a share of them use the packed q|k|v form (key and
value empty, each query row [q | k | v] of (H + 2*Hkv)*D elements). Case.qkv() splits packed rows back into
q, k, v by columns, so accepted packed cases are judged against the same reference as separate ones.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# The contract constants, loaded by path: importing the encexport package would import torch.
_spec = importlib.util.spec_from_file_location(
    "_encexport_contract", Path(__file__).resolve().parents[2] / "encexport" / "contract.py")
contract = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = contract  # dataclasses look their module up while the class is built
_spec.loader.exec_module(contract)

INT32_MAX = 2**31 - 1
ELEM = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16,
        "float64": TensorProto.DOUBLE, "int32": TensorProto.INT32, "int64": TensorProto.INT64}
ATTR_TYPE = {a.name: a.onnx_type for a in contract.ATTRIBUTES}
# Values of every other attribute type, to put where the contract wants one type (INT given as FLOAT, ...).
OTHER_TYPES = {"INT": 2, "FLOAT": 2.0, "STRING": "2", "INTS": [2], "FLOATS": [2.0], "STRINGS": ["2"],
               "TENSOR": np.array([2], np.int64)}


@dataclass
class Case:
    seed: int
    index: int
    category: str
    layout: str
    dtype: str  # element type of query/key/value
    attrs: dict  # name -> (onnx type, value); absent attributes are left out
    arrays: list  # query, key, value[, lengths]: numpy arrays (bfloat16 as uint16 bits); None = input absent
    expect: str  # "ok" or "refuse"
    keywords: tuple = ()  # all must appear in the error message (lower-cased)
    check: str = "reference"  # ok cases: "reference", "finite" (huge scale), "nan_rows", "empty"
    note: str = ""
    extra_inputs: int = 0  # graph declares more inputs than the contract (ORT refuses the node)
    outputs: int = 1
    input_types: list = field(default_factory=list)  # element type name per input (defaults from arrays)
    packed_qkv: bool = False  # query holds packed q|k|v rows; key and value are empty ("")

    def qkv(self) -> tuple:
        """query, key, value as three arrays. Packed q|k|v rows are split by columns (H*D | Hkv*D | Hkv*D) from
        the node's attributes, so only call it for cases whose attributes are well formed (accepted cases)."""
        if not self.packed_qkv:
            return tuple(self.arrays[:3])
        attrs = {k: v[1] for k, v in self.attrs.items()}
        H, D = int(attrs["num_heads"]), int(attrs["head_size"])
        Hkv = int(attrs.get("num_kv_heads", H))
        rows = self.arrays[0]
        return rows[..., :H * D], rows[..., H * D:(H + Hkv) * D], rows[..., (H + Hkv) * D:]

    def label(self) -> str:
        attrs = {k: v[1] if not isinstance(v[1], np.ndarray) else v[1].tolist() for k, v in self.attrs.items()}
        shapes = [None if a is None else tuple(a.shape) for a in self.arrays]
        return (f"seed={self.seed} index={self.index} category={self.category} layout={self.layout} "
                f"form={'packed_qkv' if self.packed_qkv else 'separate'} dtype={self.dtype} attrs={attrs} "
                f"shapes={shapes} note={self.note!r}")

    def model(self) -> bytes:
        names = ["query", "key", "value", "lengths"][:len(self.arrays)]
        node_inputs = ["" if a is None else n for n, a in zip(names, self.arrays)]
        while node_inputs and node_inputs[-1] == "":
            node_inputs.pop()
        node_inputs += [f"extra{i}" for i in range(self.extra_inputs)]
        types = self.input_types or [self.dtype] * 3 + ["int32"]
        graph_inputs = [helper.make_tensor_value_info(n, ELEM[t], None)  # unknown rank: inputs reach the kernel
                        for n, t, a in zip(names, types, self.arrays) if a is not None]
        graph_inputs += [helper.make_tensor_value_info(f"extra{i}", ELEM[self.dtype], None)
                         for i in range(self.extra_inputs)]
        outputs = [helper.make_tensor_value_info(f"output{i}", ELEM[types[0]], None) for i in range(self.outputs)]
        node = helper.make_node(contract.OP_TYPE, node_inputs, [o.name for o in outputs], domain=contract.DOMAIN)
        node.attribute.extend(_attribute(name, kind, value) for name, (kind, value) in self.attrs.items())
        graph = helper.make_graph([node], "fuzz", graph_inputs, outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                        helper.make_opsetid(contract.DOMAIN, contract.DOMAIN_VERSION)])
        model.ir_version = 10
        return model.SerializeToString()

    def feeds(self) -> dict:
        names = ["query", "key", "value", "lengths"]
        return {n: a for n, a in zip(names, self.arrays) if a is not None}


def _attribute(name, kind, value):
    if kind == "TENSOR":
        return helper.make_attribute(name, numpy_helper.from_array(np.asarray(value), name))
    kinds = {"INT": int, "FLOAT": float, "STRING": str}
    if kind in kinds:
        return helper.make_attribute(name, kinds[kind](value), attr_type=getattr(helper.AttributeProto, kind))
    return helper.make_attribute(name, list(value), attr_type=getattr(helper.AttributeProto, kind))


# ---------------------------------------------------------------------------------------------------------
# Building blocks.
def _attrs(H, Hkv, D, layout, *, scale=None, backend="auto"):
    a = {"num_heads": ("INT", H), "num_kv_heads": ("INT", Hkv), "head_size": ("INT", D),
         "causal": ("INT", 0), "backend": ("STRING", backend), "layout": ("STRING", layout),
         "plugin_version": ("STRING", contract.PLUGIN_VERSION), "plugin_namespace": ("STRING", "")}
    if scale is not None:
        a["scale"] = ("FLOAT", scale)
    return a


def _heads(rng):
    Hkv = int(rng.choice([1, 1, 2, 3, 4]))
    return Hkv * int(rng.choice([1, 2, 3])), Hkv


def _head_size(rng):
    return int(rng.choice([1, 2, 3, 5, 8, 16, 24, 32, 64, 80, 96, 128, 160, 256] + list(rng.integers(1, 257, 2))))


def _cast(x, dtype):
    if dtype == "bfloat16":  # bf16 bits: the fp32 value's upper half, rounded to nearest even
        bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return x.astype(dtype)


def _qkv(rng, lead, H, Hkv, D, dtype):
    return [_cast(rng.standard_normal((*lead, h * D)).astype(np.float32), dtype) for h in (H, Hkv, Hkv)]


# Share of the cases (in the categories where the form matters) that pass q, k, v as packed q|k|v rows.
PACKED_QKV_SHARE = 0.35


def _packed_qkv(rng, share=PACKED_QKV_SHARE) -> bool:
    return bool(rng.random() < share)


def _pack_qkv(arrays):
    """[q, k, v, lengths] -> [q|k|v rows, None, None, lengths]: key and value empty, read from query's rows."""
    q, k, v = arrays[:3]
    return [np.concatenate([q, k, v], axis=-1), None, None, *arrays[3:]]


def _lengths(rng, B, S):
    return rng.integers(0, S + 1, B).astype(np.int32)


def _cu(lens):
    return np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)


def _valid(rng, layout, dtype=None, packed_qkv=False):
    """(attrs, arrays, H, Hkv, D, dtype) of a well-formed call; arrays in the packed q|k|v form if asked."""
    H, Hkv = _heads(rng)
    D = _head_size(rng)
    dtype = dtype or str(rng.choice(["float32", "float32", "float16", "bfloat16"]))
    scale = None if rng.random() < 0.3 else float(rng.choice([D ** -0.5, 0.0, -0.7, 1.3, 0.01]))
    B = int(rng.integers(1, 4))
    if layout == "padded":
        S = int(rng.integers(1, 8))
        q, k, v = _qkv(rng, (B, S), H, Hkv, D, dtype)
        lens = _lengths(rng, B, S) if rng.random() < 0.8 else None
    else:
        lens_list = rng.integers(0, 6, B)
        q, k, v = _qkv(rng, (int(lens_list.sum()),), H, Hkv, D, dtype)
        lens = _cu(lens_list)
    arrays = [q, k, v, lens]
    return _attrs(H, Hkv, D, layout, scale=scale), _pack_qkv(arrays) if packed_qkv else arrays, H, Hkv, D, dtype


# ---------------------------------------------------------------------------------------------------------
# The categories. Each returns a Case (seed/index filled in by make_case).
def valid(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)
    attrs, arrays, *_ , dtype = _valid(rng, layout, packed_qkv=packed)
    if rng.random() < 0.3:  # optional attributes may be left out: the defaults apply
        for name in rng.choice(["num_kv_heads", "scale", "causal", "backend", "layout", "plugin_version",
                                "plugin_namespace"], 2, replace=False):
            if not (name == "layout" and layout == "packed") and not (
                    name == "num_kv_heads" and attrs["num_kv_heads"][1] != attrs["num_heads"][1]):
                attrs.pop(str(name), None)
    if rng.random() < 0.2:
        attrs["backend"] = ("STRING", "reference")
    return Case(0, 0, "valid", layout, dtype, attrs, arrays, "ok", packed_qkv=packed)


def extra_attribute(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)
    attrs, arrays, *_, dtype = _valid(rng, layout, "float32", packed_qkv=packed)
    kind = str(rng.choice(list(OTHER_TYPES)))
    attrs[f"future_option_{int(rng.integers(100))}"] = (kind, OTHER_TYPES[kind])
    # The contract adds optional attributes compatibly: an older library must ignore unknown ones.
    return Case(0, 0, "extra_attribute", layout, dtype, attrs, arrays, "ok", packed_qkv=packed)


def missing_attribute(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)
    attrs, arrays, *_, dtype = _valid(rng, layout, "float32", packed_qkv=packed)
    name = str(rng.choice(["num_heads", "head_size"]))
    attrs.pop(name)
    return Case(0, 0, "missing_attribute", layout, dtype, attrs, arrays, "refuse", (name,), packed_qkv=packed)


def wrong_attribute_type(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)
    attrs, arrays, *_, dtype = _valid(rng, layout, "float32", packed_qkv=packed)
    name = str(rng.choice([a.name for a in contract.ATTRIBUTES]))
    want = ATTR_TYPE[name]
    kind = str(rng.choice([k for k in OTHER_TYPES if k != want]))
    attrs[name] = (kind, OTHER_TYPES[kind])
    # The message names the type found, except STRINGS, which ORT's kernel-info API cannot tell from other lists.
    found = ("a list, tensor or graph",) if kind == "STRINGS" else (kind.lower(),)
    return Case(0, 0, "wrong_attribute_type", layout, dtype, attrs, arrays, "refuse",
                (f"'{name}'", f"must be {want.lower()}") + found, packed_qkv=packed)


def bad_attribute_value(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)
    attrs, arrays, H, Hkv, D, dtype = _valid(rng, layout, "float32", packed_qkv=packed)
    which = str(rng.choice(["causal", "backend", "layout", "plugin_version", "num_heads", "head_size",
                            "num_kv_heads", "scale", "flash_on_cpu"]))
    if which == "causal":
        attrs["causal"] = ("INT", int(rng.choice([1, -1, 2, INT32_MAX, -2**63, 2**63 - 1])))
        kw = ("causal", "encoder-only")
    elif which == "backend":
        attrs["backend"] = ("STRING", str(rng.choice(["turbo", "", "AUTO", "Flash", "reference ", "CUDNN"])))
        kw = ("unknown backend",)
    elif which == "layout":
        attrs["layout"] = ("STRING", str(rng.choice(["ragged", "", "PADDED", "bshd", "packed\0x"])))
        kw = ("unknown layout",)
    elif which == "plugin_version":
        attrs["plugin_version"] = ("STRING", str(rng.choice(["0", "2", "1.0", "", " 1", "v1", "10"])))
        kw = ("plugin_version", "not supported")
    elif which == "num_heads":
        attrs["num_heads"] = ("INT", int(rng.choice([0, -1, -2**31, 2**16 + 1, 2**31, 2**62])))
        kw = ("num_heads", "outside")
    elif which == "head_size":
        attrs["head_size"] = ("INT", int(rng.choice([0, -8, 257, 512, 2**31 + 8, -2**63])))
        kw = ("head_size", "outside")
    elif which == "num_kv_heads":
        bad = [0, -1, H + 1, 2 * H, 2**40] + [d for d in range(2, H) if H % d]
        attrs["num_kv_heads"] = ("INT", int(rng.choice(bad)))
        kw = ("num_kv_heads", "must divide")
    elif which == "scale":
        attrs["scale"] = ("FLOAT", float(rng.choice([np.nan, np.inf, -np.inf])))
        kw = ("scale", "finite")
    else:
        attrs["backend"] = ("STRING", "flash")
        kw = ("flash", "cudaexecutionprovider")
    return Case(0, 0, f"bad_attribute_value:{which}", layout, dtype, attrs, arrays, "refuse", kw, packed_qkv=packed)


def contradicting_inputs(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    if _packed_qkv(rng, 0.45):
        return _contradicting_packed_qkv(rng, layout)
    attrs, arrays, H, Hkv, D, dtype = _valid(rng, layout, "float32")
    q, k, v, lens = arrays
    which = str(rng.choice(["q_width", "kv_width", "rank", "leading", "swap_kv_q"]))
    if which == "q_width":
        arrays[0] = np.zeros(q.shape[:-1] + (q.shape[-1] + int(rng.choice([-1, 1, D])),), np.float32)
        kw = ("query's last dimension",)
    elif which == "kv_width":
        i = int(rng.integers(1, 3))
        arrays[i] = np.zeros(arrays[i].shape[:-1] + (arrays[i].shape[-1] + int(rng.choice([-1, 1, D])),), np.float32)
        kw = ("key/value last dimensions",)
    elif which == "rank":
        i = int(rng.integers(0, 3))
        x = arrays[i]
        arrays[i] = {0: x.reshape(-1), 1: x[None], 2: x.reshape(-1)[:0].reshape(0, 0, 0, 0)}[int(rng.integers(0, 3))]
        kw = ("has shape", "expects rank")
    elif which == "leading":
        i = int(rng.integers(1, 3))
        x = arrays[i]
        axis = int(rng.integers(0, x.ndim - 1))
        grow = list(x.shape)
        grow[axis] = 1
        arrays[i] = np.concatenate([x, np.zeros(grow, x.dtype)], axis=axis)
        kw = ("must agree on every dimension",)
    else:  # key/value carry query's width: contradicts num_kv_heads when it differs
        if Hkv == H:
            arrays[1] = np.zeros(k.shape[:-1] + (k.shape[-1] * 2,), np.float32)
        else:
            arrays[1], arrays[2] = q.copy(), q.copy()
        kw = ("key/value last dimensions",)
    return Case(0, 0, f"contradicting_inputs:{which}", layout, dtype, attrs, arrays, "refuse", kw)


def _contradicting_packed_qkv(rng, layout):
    """The packed q|k|v form (key and value empty) with rows that contradict the attributes, or half of it."""
    attrs, arrays, H, Hkv, D, dtype = _valid(rng, layout, "float32", packed_qkv=True)
    rows = arrays[0]
    width = (H + 2 * Hkv) * D
    which = str(rng.choice(["packed_width", "packed_rank", "only_key", "only_value"]))
    if which == "packed_width":
        # Off by one element or one head, only q (a separate-form query), q|k without v, or k/v at query's width.
        wrong = [width - 1, width + 1, width - D, width + D, H * D, (H + Hkv) * D, 3 * H * D]
        w = int(rng.choice([x for x in wrong if x != width]))
        arrays[0] = np.zeros(rows.shape[:-1] + (w,), np.float32)
        kw = (f"query's last dimension is {w}", "packed q|k|v", f"= {width} elements")
    elif which == "packed_rank":
        # Flattened, an extra axis, an empty rank-4 tensor, or packed-layout rows [T, W] given to the padded layout.
        options = ["flat", "extra_axis", "rank4"] + (["merged"] if layout == "padded" else [])
        kind = str(rng.choice(options))
        arrays[0] = {"flat": lambda x: x.reshape(-1), "extra_axis": lambda x: x[None],
                     "rank4": lambda x: np.zeros((0, 0, 0, x.shape[-1]), x.dtype),
                     "merged": lambda x: x.reshape(-1, x.shape[-1])}[kind](rows)
        kw = ("query has shape", f"the {layout} layout expects rank", "packed q|k|v")
    else:  # one of key/value given: either half of the separate form, or an extra tensor beside packed rows
        i = 1 if which == "only_key" else 2
        half = rng.standard_normal(rows.shape[:-1] + (Hkv * D,)).astype(np.float32)
        if rng.random() < 0.5:
            arrays[0] = np.ascontiguousarray(rows[..., :H * D])
        arrays[i] = half
        kw = (f"only {'key' if i == 1 else 'value'} is given", "pass both key and value")
    return Case(0, 0, f"contradicting_inputs:{which}", layout, dtype, attrs, arrays, "refuse", kw, packed_qkv=True,
                note=f"packed q|k|v width {width}")


def bad_lengths(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    packed = _packed_qkv(rng)  # in the packed q|k|v form, B, S and T are those of the q|k|v rows
    attrs, arrays, H, Hkv, D, dtype = _valid(rng, layout, "float32", packed_qkv=packed)
    q = arrays[0]
    if layout == "padded":
        B, S = q.shape[:2]
        which = str(rng.choice(["too_long", "negative", "extreme", "shape", "rank0", "rank2"]))
        lens = _lengths(rng, B, S)
        b = int(rng.integers(0, B))
        if which == "too_long":
            lens[b] = S + int(rng.integers(1, 5))
            kw = (f"seq_lens[{b}]", "outside")
        elif which == "negative":
            lens[b] = -int(rng.integers(1, 5))
            kw = (f"seq_lens[{b}]", "outside")
        elif which == "extreme":
            lens[b] = int(rng.choice([INT32_MAX, -2**31]))
            kw = (f"seq_lens[{b}]", "outside")
        elif which == "shape":
            lens = rng.integers(0, S + 1, B + int(rng.choice([-1, 1, 5]))).astype(np.int32)
            kw = ("seq_lens has shape",)
        elif which == "rank0":
            lens = np.array(S, np.int32)
            kw = ("seq_lens has shape",)
        else:
            lens = lens.reshape(B, 1)
            kw = ("seq_lens has shape",)
        arrays[3] = lens
    else:
        T = q.shape[0]
        cu = arrays[3].copy()
        which = str(rng.choice(["first", "decreasing", "last_small", "last_large", "short", "long", "rank0",
                                "rank2", "empty", "missing", "huge_value"]))
        if which == "first":
            cu = cu + int(rng.choice([1, -1, 7]))
            kw = ("cu_seqlens[0] must be 0",) if cu[0] != 0 else ()
        elif which == "decreasing":
            cu = np.concatenate([[0], [T + 3], [1], [T]]).astype(np.int32)
            kw = ("non-decreasing",)
        elif which == "last_small":  # non-decreasing, but stops short of T (or passes T = 0)
            cu = np.array([0, T - 1] if T > 0 else [0, 1], np.int32)
            kw = ("cu_seqlens[-1]", "must equal")
        elif which == "last_large":
            cu[-1] = T + int(rng.choice([1, 100, INT32_MAX - T]))
            kw = ("cu_seqlens[-1]", "must equal")
        elif which == "short":  # fewer entries: the prefix sums stop before T
            cu = cu[:-1] if cu.size > 2 and cu[-2] != T else np.array([0], np.int32)
            kw = ("cu_seqlens[-1]", "must equal") if T != 0 else ()
        elif which == "long":  # extra sequences past T
            cu = np.concatenate([cu, [T + 1, T + 2]]).astype(np.int32)
            kw = ("cu_seqlens[-1]", "must equal")
        elif which == "huge_value":
            cu = np.array([0, INT32_MAX, T], np.int32)
            kw = ("non-decreasing",)
        elif which == "rank0":
            cu = np.array(0, np.int32)
            kw = ("cu_seqlens has shape",)
        elif which == "rank2":
            cu = cu.reshape(1, -1)
            kw = ("cu_seqlens has shape",)
        elif which == "empty":
            cu = np.zeros(0, np.int32)
            kw = ("cu_seqlens has shape",)
        else:
            cu = None
            kw = ("packed layout needs input 3",)
        arrays[3] = cu
        if not kw:  # the mutation happened to keep cu_seqlens valid: then it must run correctly
            return Case(0, 0, f"bad_lengths:{which}", layout, dtype, attrs, arrays, "ok", packed_qkv=packed,
                        note="mutation kept it valid")
    return Case(0, 0, f"bad_lengths:{which}", layout, dtype, attrs, arrays, "refuse", kw, packed_qkv=packed)


def wrong_dtypes(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    which = str(rng.choice(["lengths_int64", "lengths_float", "qkv_float64", "qkv_int32", "mixed"]))
    packed = which != "mixed" and _packed_qkv(rng)  # "mixed" needs key/value tensors of their own
    attrs, arrays, *_ = _valid(rng, layout, "float32", packed_qkv=packed)
    types = ["float32"] * 3 + ["int32"]
    if which == "lengths_int64":
        types[3] = "int64"
        arrays[3] = (arrays[3] if arrays[3] is not None else np.ones(arrays[0].shape[0], np.int32)).astype(np.int64)
        kw = ("tensor(int64)", "lengths", "invalid")
    elif which == "lengths_float":
        types[3] = "float32"
        arrays[3] = (arrays[3] if arrays[3] is not None else np.ones(arrays[0].shape[0], np.int32)).astype(np.float32)
        kw = ("tensor(float)", "lengths", "invalid")
    elif which == "qkv_float64":
        types[:3] = ["float64"] * 3
        arrays[:3] = [None if a is None else a.astype(np.float64) for a in arrays[:3]]
        kw = ("tensor(double)", "query", "invalid")
    elif which == "qkv_int32":
        types[:3] = ["int32"] * 3
        arrays[:3] = [None if a is None else a.astype(np.int32) for a in arrays[:3]]
        kw = ("tensor(int32)", "query", "invalid")
    else:
        i = int(rng.integers(1, 3))
        types[i] = "float16"
        arrays[i] = arrays[i].astype(np.float16)
        kw = ("no kernel def",)
    if arrays[3] is None:
        arrays = arrays[:3]
    return Case(0, 0, f"wrong_dtypes:{which}", layout, "float32", attrs, arrays, "refuse", kw, input_types=types,
                packed_qkv=packed)


def wrong_arity(rng):
    layout = str(rng.choice(contract.LAYOUTS))
    which = str(rng.choice(["extra_input", "two_inputs", "two_outputs"]))
    packed = which != "two_inputs" and _packed_qkv(rng)  # two_inputs is query + key: the separate form cut short
    attrs, arrays, *_ = _valid(rng, layout, "float32", packed_qkv=packed)
    case = Case(0, 0, f"wrong_arity:{which}", layout, "float32", attrs, arrays, "refuse", packed_qkv=packed)
    if which == "extra_input":
        # Every contract input given (attn_bias as extra0), then one more.
        case.extra_inputs = len(contract.INPUTS) - 3
        case.arrays = arrays[:3] + [arrays[3] if arrays[3] is not None else np.ones(arrays[0].shape[0], np.int32)]
        case.keywords = ("encexport::encoderonlyattention", f"input size {len(contract.INPUTS) + 1}")
    elif which == "two_inputs":  # query and key: key/value are optional only together (packed q|k|v form)
        case.arrays = arrays[:2]
        case.keywords = ("only key is given", "pass both key and value")
    else:
        case.outputs = 2
        case.keywords = ("encexport::encoderonlyattention", "output size 2")
    return case


def empty_and_tiny(rng):
    """Zero-size tensors and length-0/1 sequences: an empty (or all-zero) output, never NaN."""
    layout = str(rng.choice(contract.LAYOUTS))
    H, Hkv = _heads(rng)
    D = _head_size(rng)
    which = str(rng.choice(["B0", "S0", "S1", "all_len0", "T0", "cu_only_zero", "len1"]))
    if layout == "padded":
        B, S = {"B0": (0, 3), "S0": (2, 0), "S1": (3, 1), "T0": (0, 0)}.get(which, (3, 4))
        q, k, v = _qkv(rng, (B, S), H, Hkv, D, "float32")
        lens = {"all_len0": np.zeros(B, np.int32), "len1": np.ones(B, np.int32)}.get(which, _lengths(rng, B, S))
    else:
        lens_list = {"all_len0": [0, 0, 0], "len1": [1, 1, 1], "S1": [1], "cu_only_zero": []}.get(which, [0])
        q, k, v = _qkv(rng, (int(sum(lens_list)),), H, Hkv, D, "float32")
        lens = _cu(np.array(lens_list, np.int64))
    packed = _packed_qkv(rng)
    arrays = _pack_qkv([q, k, v, lens]) if packed else [q, k, v, lens]
    return Case(0, 0, f"empty_and_tiny:{which}", layout, "float32", _attrs(H, Hkv, D, layout), arrays, "ok",
                packed_qkv=packed)


def huge_dims(rng):
    """Shapes whose products overflow int32 (or int64) indexing, with a 0 dim so nothing is allocated.

    The library must either run them as the empty tensors they are (quickly: no loop over 2^31 empty
    sequences) or refuse them by name; never read a byte.
    """
    H = int(rng.choice([1, 4, 2**16]))
    D = int(rng.choice([1, 8, 256])) if H < 2**16 else 1
    W = H * D
    layout = "padded"
    which = str(rng.choice(["B_int32max", "S_int32max", "B_over", "S_over", "both_over", "packed_many_empty",
                            "packed_wide", "seq_lens_many", "seq_lens_many_bad"]))
    kw = ()
    lens = None
    if which == "B_int32max":
        shape = (INT32_MAX, 0, W)
    elif which == "S_int32max":
        shape = (0, INT32_MAX, W)
    elif which == "B_over":
        shape = (int(rng.choice([2**31, 2**32 + 1, 2**40])), 0, W)
        kw = ("exceeds int32",)
    elif which == "S_over":
        shape = (0, int(rng.choice([2**31, 2**33, 2**40])), W)
        kw = ("exceeds int32",)
    elif which == "both_over":
        shape = (2**33, 0, W)
        kw = ("exceeds int32",)
    elif which == "seq_lens_many":  # a real [B] seq_lens over empty sequences: read fully, no work done
        shape = (100_000, 0, W)
        lens = np.zeros(100_000, np.int32)
    elif which == "seq_lens_many_bad":
        shape = (100_000, 0, W)
        lens = np.zeros(100_000, np.int32)
        lens[-1] = 1
        kw = ("seq_lens[99999]", "outside [0, 0]")
    elif which == "packed_many_empty":  # 2^16 empty sequences x 2^16 heads: must not loop over heads
        layout, shape, lens = "packed", (0, W), np.zeros(2**16 + 1, np.int32)
    else:
        layout, shape, lens = "packed", (0, W), np.zeros(1, np.int32)
    q = np.zeros(shape, np.float32)
    packed = _packed_qkv(rng)  # packed q|k|v rows: the same shapes at three times the width
    arrays = [np.zeros(shape[:-1] + (3 * W,), np.float32), None, None, lens] if packed else [q, q, q, lens]
    return Case(0, 0, f"huge_dims:{which}", layout, "float32", _attrs(H, H, D, layout), arrays,
                "refuse" if kw else "ok", kw, check="empty", note=f"shape={shape}", packed_qkv=packed)


def non_finite(rng):
    """Huge scale stays finite; NaN/Inf reach exactly the rows that read them; NaN in padding never leaks."""
    layout = "padded"
    H, Hkv = _heads(rng)
    D = int(rng.choice([4, 8, 16]))
    B, S = int(rng.integers(1, 4)), int(rng.integers(2, 7))
    q, k, v = _qkv(rng, (B, S), H, Hkv, D, "float32")
    lens = rng.integers(1, S + 1, B).astype(np.int32)
    which = str(rng.choice(["huge_scale", "nan_query", "inf_key", "nan_value", "nan_padding"]))
    scale = 1e4 if which == "huge_scale" else None
    b = int(rng.integers(0, B))
    i = int(rng.integers(0, lens[b]))
    if which == "nan_query":
        q[b, i, 0] = np.nan
    elif which == "inf_key":
        k[b, i, 0] = np.inf
    elif which == "nan_value":
        v[b, i, 0] = np.nan
    elif which == "nan_padding":  # garbage (NaN) in the padding of every input must not reach the output
        lens[b] = min(lens[b], S - 1)
        for x in (q, k, v):
            x[b, lens[b]:] = np.nan
    check = "finite" if which == "huge_scale" else "nan_rows"
    packed = _packed_qkv(rng)  # poisoned q, k, v (and padding) then packed: the NaN sits inside q|k|v rows
    arrays = _pack_qkv([q, k, v, lens]) if packed else [q, k, v, lens]
    return Case(0, 0, f"non_finite:{which}", layout, "float32", _attrs(H, Hkv, D, layout, scale=scale),
                arrays, "ok", check=check, note=f"poisoned b={b} i={i}", packed_qkv=packed)


# Relative frequencies: valid cases are about a quarter of the run so accepted numbers are checked as hard as
# refusals. contradicting_inputs carries the malformed packed q|k|v sub-kinds as well as the separate ones.
CATEGORIES = [(valid, 30), (extra_attribute, 4), (missing_attribute, 4), (wrong_attribute_type, 10),
              (bad_attribute_value, 12), (contradicting_inputs, 15), (bad_lengths, 12), (wrong_dtypes, 5),
              (wrong_arity, 3), (empty_and_tiny, 6), (huge_dims, 6), (non_finite, 8)]
_WEIGHTS = np.array([w for _, w in CATEGORIES], np.float64) / sum(w for _, w in CATEGORIES)


def make_case(seed: int, index: int) -> Case:
    rng = np.random.default_rng([seed, index])
    gen = CATEGORIES[int(rng.choice(len(CATEGORIES), p=_WEIGHTS))][0]
    case = gen(rng)
    case.seed, case.index = seed, index
    return case
