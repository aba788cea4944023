"""encexport/contract.py is the one source of the node contract; everything else that states it must agree:
docs/onnx-contract.md's tables, plugins/include/encexport/contract.h (generated) and the Backend/Layout enums of
params.h."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from encexport import contract, contract_files

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
    # contract.h names enumerator i after contract.py's i-th value.
    assert _enumerators(enum) == [("k" + n.capitalize(), i) for i, n in enumerate(names)]
