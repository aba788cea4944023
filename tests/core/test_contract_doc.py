from pathlib import Path

from encexport import contract


def test_contract_doc_holds_the_generated_tables():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "onnx-contract.md").read_text()
    assert contract.markdown_tables() in doc, "docs/onnx-contract.md drifted from encexport/contract.py"
