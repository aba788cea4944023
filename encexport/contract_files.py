"""Writes the files generated from encexport/contract.py: the C++ header plugins/include/encexport/contract.h and
the attribute and tensor tables of docs/onnx-contract.md.

    python -m encexport.contract_files           # rewrite whichever is out of date
    python -m encexport.contract_files --check   # exit 1, naming the stale file, instead of writing

The header carries every fact the C++ adapters need (names, types, defaults, bounds, enum names) so that no
adapter spells one itself; the rules that combine them live in plugins/common/node_attributes.cc.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from . import contract

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "plugins" / "include" / "encexport" / "contract.h"
DOC = ROOT / "docs" / "onnx-contract.md"
SOURCE = Path(contract.__file__).resolve()

_TYPES = {"INT": "AttributeType::kInt", "FLOAT": "AttributeType::kFloat", "STRING": "AttributeType::kString"}
# Defaults that are rules rather than values (contract.py spells them as text on a non-STRING attribute). The C++
# validator implements each rule; a new one needs an entry here and code there.
_DEFAULT_RULES = {("num_kv_heads", "num_heads"): "DefaultRule::kNumHeads",
                  ("scale", "1/sqrt(head_size)"): "DefaultRule::kInverseSqrtHeadSize"}


def _camel(name: str) -> str:
    """num_kv_heads -> kNumKvHeads (the enumerator of one attribute)."""
    return "k" + "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", name) if part)


def _c_string(s: str) -> str:
    if not re.fullmatch(r"[ -~]*", s) or '"' in s or "\\" in s:
        raise ValueError(f"contract string {s!r} needs escaping; keep contract names plain ASCII")
    return f'"{s}"'


def _attribute_row(a: contract.AttributeSpec) -> str:
    rule, value = "DefaultRule::kNone", "0, nullptr"
    if a.required:
        if a.default is not None:
            raise ValueError(f"required attribute {a.name} has a default")
    elif a.onnx_type == "STRING":
        rule, value = "DefaultRule::kValue", f"0, {_c_string(a.default)}"
    elif a.onnx_type == "INT" and isinstance(a.default, int):
        rule, value = "DefaultRule::kValue", f"{a.default}, nullptr"
    elif (a.name, a.default) in _DEFAULT_RULES:
        rule = _DEFAULT_RULES[(a.name, a.default)]
    else:
        raise ValueError(f"attribute {a.name}: default {a.default!r} is neither a value nor a rule the C++ validator "
                         "knows; add it to _DEFAULT_RULES and plugins/common/node_attributes.cc")
    return (f"    {{{_c_string(a.name)}, {_TYPES[a.onnx_type]}, /*required=*/{'true' if a.required else 'false'}, "
            f"{rule}, {value}}},")


def _names(values: tuple[str, ...]) -> str:
    return "{" + ", ".join(_c_string(v) for v in values) + "}"


def source_digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def render_header() -> str:
    """contract.h for the current contract.py."""
    attrs = contract.ATTRIBUTES
    enumerators = ",\n".join(f"  {_camel(a.name)} = {i}" for i, a in enumerate(attrs))
    rows = "\n".join(_attribute_row(a) for a in attrs)
    return f"""\
// Generated from encexport/contract.py by `python -m encexport.contract_files`; do not edit.
// contract.py sha256 {source_digest()}
//
// The ONNX contract of {contract.DOMAIN}::{contract.OP_TYPE} as C++ constants. The ONNX Runtime op, the TensorRT
// plugin and the shared attribute validator (plugins/common/node_attributes.cc) take every contract fact from
// here; tests/core/test_contract_doc.py fails when this file differs from what the generator writes, and
// plugins/CMakeLists.txt refuses to configure when the digest above is not contract.py's.
#pragma once

#include <cstdint>

namespace encexport::contract {{

inline constexpr char kDomain[] = {_c_string(contract.DOMAIN)};
inline constexpr int32_t kDomainVersion = {contract.DOMAIN_VERSION};
inline constexpr char kOpType[] = {_c_string(contract.OP_TYPE)};
// The contract version: TensorRT's plugin version, and the value of the plugin_version attribute.
inline constexpr char kPluginVersion[] = {_c_string(contract.PLUGIN_VERSION)};
inline constexpr char kPluginNamespace[] = {_c_string(contract.PLUGIN_NAMESPACE)};

inline constexpr int32_t kMaxNumHeads = {contract.MAX_NUM_HEADS};
inline constexpr int32_t kMaxHeadSize = {contract.MAX_HEAD_SIZE};

// The ONNX attribute types the contract uses.
enum class AttributeType : int32_t {{ kInt, kFloat, kString }};

// Where an optional attribute's value comes from when the node omits it.
enum class DefaultRule : int32_t {{
  kNone,                 // required attribute: no default
  kValue,                // default_int (INT) or default_string (STRING)
  kNumHeads,             // the value of num_heads
  kInverseSqrtHeadSize,  // 1/sqrt(head_size)
}};

struct AttributeSpec {{
  const char* name;
  AttributeType type;
  bool required;
  DefaultRule default_rule;
  int64_t default_int;
  const char* default_string;
}};

// The attributes in contract order; an Attribute is an index into kAttributes.
enum class Attribute : int32_t {{
{enumerators}
}};
inline constexpr int32_t kAttributeCount = {len(attrs)};
inline constexpr AttributeSpec kAttributes[kAttributeCount] = {{
{rows}
}};
inline constexpr const AttributeSpec& spec(Attribute a) {{ return kAttributes[static_cast<int32_t>(a)]; }}

// Accepted values of the backend and layout attributes. Name i is the encexport::Backend / encexport::Layout
// enumerator of value i (params.h).
inline constexpr int32_t kBackendCount = {len(contract.BACKENDS)};
inline constexpr const char* kBackendNames[kBackendCount] = {_names(contract.BACKENDS)};
inline constexpr char kBackendList[] = {_c_string(", ".join(contract.BACKENDS))};
inline constexpr int32_t kLayoutCount = {len(contract.LAYOUTS)};
inline constexpr const char* kLayoutNames[kLayoutCount] = {_names(contract.LAYOUTS)};
inline constexpr char kLayoutList[] = {_c_string(", ".join(contract.LAYOUTS))};

// The node's inputs in order (docs/onnx-contract.md); all but the first are optional.
inline constexpr int32_t kInputCount = {len(contract.INPUTS)};
inline constexpr const char* kInputNames[kInputCount] = {_names(tuple(t.name for t in contract.INPUTS))};
// The optional additive attention bias: its input index and rank ([B or 1, H or 1, S, S]).
inline constexpr int32_t kBiasInput = {contract.BIAS_INPUT};
inline constexpr int32_t kBiasRank = {contract.BIAS_RANK};
// The CUDA op's checked mode: this environment variable set to 1 checks device lengths before each launch.
inline constexpr char kCheckedLengthsEnv[] = {_c_string(contract.CHECKED_LENGTHS_ENV)};

}}  // namespace encexport::contract
"""


def render_doc(doc: str) -> str:
    """doc (docs/onnx-contract.md) with its tables replaced by contract.markdown_tables(): the attribute table,
    one blank line, the tensor table."""
    lines = doc.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("| attribute | type |"))
    end = start
    while end < len(lines) and (lines[end].startswith("|") or lines[end] == "" and lines[end + 1].startswith("| # |")):
        end += 1
    return "\n".join(lines[:start] + [contract.markdown_tables()] + lines[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale instead of writing it")
    args = parser.parse_args(argv)
    stale = []
    for path, render in ((HEADER, lambda old: render_header()), (DOC, render_doc)):
        current = path.read_text() if path.exists() else ""
        text = render(current)
        if text == current:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run python -m encexport.contract_files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
