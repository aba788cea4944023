"""encexport/contract.py is the one source of the node contract; everything else that states it must agree:
docs/onnx-contract.md's tables, plugins/include/encexport/contract.h (generated), the Backend/Layout enums of
params.h, and the C++ attribute validator (plugins/common/node_attributes.cc), run here through the ONNX Runtime
op on a grid of nodes and compared with contract.resolve_attributes case by case."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from encexport import contract, contract_files, ort
from reference import attention_reference, random_qkv

ROOT = Path(__file__).resolve().parents[2]
PARAMS_H = ROOT / "plugins" / "include" / "encexport" / "params.h"


def test_contract_doc_holds_the_generated_tables():
    doc = contract_files.DOC.read_text()
    assert contract.markdown_tables() in doc, (
        "docs/onnx-contract.md drifted from encexport/contract.py: run python -m encexport.contract_files")


def test_contract_header_is_generated_from_contract_py():
    assert contract_files.HEADER.read_text() == contract_files.render_header(), (
        "plugins/include/encexport/contract.h drifted from encexport/contract.py: run "
        "python -m encexport.contract_files")
    assert contract_files.main(["--check"]) == 0


def _enumerators(enum: str) -> list[tuple[str, int]]:
    body = re.search(rf"enum class {enum} : int32_t \{{(.*?)\}};", PARAMS_H.read_text(), re.S)[1]
    return [(m[1], int(m[2])) for m in re.finditer(r"\b(k\w+) = (\d+)", body)]


@pytest.mark.parametrize("enum,names", [("Backend", contract.BACKENDS), ("Layout", contract.LAYOUTS)])
def test_params_enums_follow_the_contract_order(enum, names):
    # contract.h names enumerator i after contract.py's i-th value; params.cc asserts only the counts.
    assert _enumerators(enum) == [("k" + n.capitalize(), i) for i, n in enumerate(names)]


# ---- the C++ validator against contract.resolve_attributes ----
_VALID = {"num_heads": 4, "num_kv_heads": 2, "head_size": 16}
_FULL = {**_VALID, "scale": 0.3, "causal": 0, "backend": "auto", "layout": "padded",
         "plugin_version": contract.PLUGIN_VERSION, "plugin_namespace": contract.PLUGIN_NAMESPACE}
# Per attribute: values inside and outside the contract, None (absent) and values of another ONNX type.
_VALUES = {
    "num_heads": [None, 1, 2, 12, contract.MAX_NUM_HEADS, contract.MAX_NUM_HEADS + 1, 0, -4, 2**31, "4", 4.0],
    "num_kv_heads": [None, 1, 2, 4, 3, 8, 0, -2, 2**40, 2.0],
    "head_size": [None, 1, 8, 80, contract.MAX_HEAD_SIZE, contract.MAX_HEAD_SIZE + 1, 0, -8, "16"],
    "scale": [None, 0.0, -0.7, 1e-30, 3.0e38, 1e39, math.inf, -math.inf, math.nan, 2, "0.5"],
    "causal": [None, 0, 1, -1, 2, 0.0],
    "backend": [None, *contract.BACKENDS, "turbo", "", "AUTO", "flash ", 1],
    "layout": [None, *contract.LAYOUTS, "ragged", "", "PADDED", 0],
    "plugin_version": [None, contract.PLUGIN_VERSION, "2", "", contract.PLUGIN_VERSION + ".0", 1],
    "plugin_namespace": [None, contract.PLUGIN_NAMESPACE, "foo", " ", 0],
}


def _grid() -> list[dict]:
    cases = []
    for base in (_VALID, _FULL):
        for name, values in _VALUES.items():
            cases += [{**base, name: v} for v in values]
    # Cross-field rules: head counts, and which layouts each backend takes.
    cases += [{**_VALID, "num_heads": h, "num_kv_heads": kv} for h in (1, 6, 8) for kv in (None, 1, 2, 3, 4, 6, 8)]
    cases += [{**_VALID, "backend": b, "layout": la} for b in (None, *contract.BACKENDS) for la in (None, *contract.LAYOUTS)]
    cases.append({**_VALID, "future_option": 3})  # names outside the contract are ignored
    return cases


def _node_model(attrs: dict, layout: str) -> tuple[bytes, dict]:
    """A one-node model carrying exactly `attrs` (None: absent), and the attribute values as the node holds them
    (FLOAT attributes are float32, so 1e39 arrives as inf)."""
    node = helper.make_node(contract.OP_TYPE, ["query", "key", "value", "lengths"], ["output"], domain=contract.DOMAIN,
                            **{k: v for k, v in attrs.items() if v is not None})
    held = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    held = {k: v.decode() if isinstance(v, bytes) else v for k, v in held.items()}
    dims = ["B", "S", None] if layout == "padded" else ["T", None]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n in ("query", "key", "value")]
    inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, [None]))
    graph = helper.make_graph([node], "one_attention", inputs,
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                    helper.make_opsetid(contract.DOMAIN, contract.DOMAIN_VERSION)])
    model.ir_version = 10
    return model.SerializeToString(), held


def _first_attribute_named(message: str) -> str | None:
    """The contract attribute a runtime message names first (after the op name that prefixes our messages)."""
    text = message.split(f"{contract.OP_TYPE}: ", 1)[-1]
    found = [(m.start(), a.name) for a in contract.ATTRIBUTES for m in re.finditer(rf"\b{a.name}\b", text)]
    return min(found)[1] if found else None


def _check_numbers(sess, resolved: dict) -> None:
    """The C++ defaults (num_kv_heads, scale) are contract.py's: the op's output matches the reference computed
    with the attributes contract.resolve_attributes returned."""
    H, Hkv, D = resolved["num_heads"], resolved["num_kv_heads"], resolved["head_size"]
    packed = resolved["layout"] == "packed"
    q, k, v = random_qkv((5,) if packed else (2, 3), H, Hkv, D, seed=H + D)
    lengths = torch.tensor([0, 2, 5] if packed else [3, 1], dtype=torch.int32)
    out = sess.run(None, {"query": q.numpy(), "key": k.numpy(), "value": v.numpy(), "lengths": lengths.numpy()})[0]
    ref = attention_reference(q, k, v, lengths, num_heads=H, num_kv_heads=Hkv, head_size=D, scale=resolved["scale"],
                              layout=resolved["layout"])
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_cpp_validator_accepts_and_refuses_what_contract_py_does(ort_library):
    checked, refused, computed = 0, 0, 0
    for attrs in _grid():
        layout = attrs.get("layout") if attrs.get("layout") in contract.LAYOUTS else "padded"
        model, held = _node_model(attrs, layout)
        try:
            resolved, python_error = contract.resolve_attributes(held), None
        except contract.ContractError as e:
            resolved, python_error = None, e
        try:
            sess, cpp_error = ort.session(model), None
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            sess, cpp_error = None, str(e)
        # The CPU kernel accepts the node's attributes but runs only auto/reference (flash/cudnn need CUDA).
        cpu_refusal = cpp_error is not None and "runs only on CUDAExecutionProvider" in cpp_error
        case = f"attributes {held}: contract.py says {python_error or 'valid'}; C++ says {cpp_error or 'valid'}"
        if python_error is None:
            assert cpp_error is None or cpu_refusal, case
            # Small heads and ordinary scales only: a huge scale turns the softmax into a near-argmax that fp32
            # and the float64 reference may break differently on ties.
            if sess is not None and resolved["num_heads"] <= 16 and abs(resolved["scale"]) <= 10:
                _check_numbers(sess, resolved)
                computed += 1
        else:
            assert cpp_error is not None and not cpu_refusal, case
            assert _first_attribute_named(cpp_error) == python_error.attribute, case
            refused += 1
        checked += 1
    assert checked > 150 and refused > 60 and computed > 40, (checked, refused, computed)
