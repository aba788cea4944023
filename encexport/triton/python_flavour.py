"""Python backend flavour: the encoder run by ONNX Runtime inside Triton's Python backend, a tokenizer
model (TEXT -> token ids), and a text-in ensemble (tokenizer -> encoder -> sentence_embedding).

This is the flavour a stock tritonserver with only the Python backend (e.g. nvidia-pytriton's) can serve.
"""

from __future__ import annotations

import re
import shutil
import site
import sysconfig
from pathlib import Path

from . import pbtxt
from .onnx_io import TensorSpec, read_io

TEMPLATES = Path(__file__).resolve().parent / "templates"


def site_packages() -> list[str]:
    """This environment's package folders (purelib, platlib, user site), for the stub's sys.path."""
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    return list(dict.fromkeys(p for p in paths if Path(p).is_dir()))


def _copy_template(name: str, dest: Path, paths: list[str]) -> None:
    shutil.copy2(TEMPLATES / name, dest)
    shutil.copy2(TEMPLATES / "tensor_io.py", dest.parent / "tensor_io.py")
    bootstrap = (TEMPLATES / "site_paths.py").read_text()
    bootstrap, count = re.subn(r"^SITE_PACKAGES = \[\]  # @generated$", f"SITE_PACKAGES = {paths!r}", bootstrap,
                               flags=re.M)
    assert count == 1, "site_paths.py template"
    (dest.parent / "site_paths.py").write_text(bootstrap)


def write_encoder(model_dir: Path, onnx_path: Path, library: Path, *, max_batch: int, instances: int, kind: str,
                  paths: list[str]) -> Path:
    version = model_dir / "1"
    version.mkdir(parents=True)
    shutil.copy2(onnx_path, version / "model.onnx")
    shutil.copy2(library, version / library.name)  # model.py resolves it next to itself: no cwd question
    _copy_template("encoder_model.py", version / "model.py", paths)
    inputs, outputs = read_io(onnx_path)
    batched = max_batch > 0
    text = (pbtxt.header(model_dir.name, max_batch, backend="python")
            + pbtxt.tensors("input", inputs, batched) + pbtxt.tensors("output", outputs, batched)
            + pbtxt.instance_group(instances, kind) + pbtxt.dynamic_batching(max_batch)
            + pbtxt.parameters({"onnx_model": "model.onnx", "op_library": library.name,
                                "site_packages": ":".join(paths)}))
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir


def write_tokenizer(model_dir: Path, tokenizer, token_inputs: list[TensorSpec], *, max_batch: int,
                    instances: int, paths: list[str]) -> Path:
    version = model_dir / "1"
    version.mkdir(parents=True)
    tokenizer.save_pretrained(str(version / "tokenizer"))
    _copy_template("tokenizer_model.py", version / "model.py", paths)
    max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    text_in = [TensorSpec("TEXT", "TYPE_STRING", (-1, 1))]
    text = (pbtxt.header(model_dir.name, max_batch, backend="python")
            + pbtxt.tensors("input", text_in, True) + pbtxt.tensors("output", token_inputs, True)
            + pbtxt.instance_group(instances, "cpu")
            + pbtxt.parameters({"tokenizer_file": "tokenizer/tokenizer.json", "pad_id": str(tokenizer.pad_token_id),
                                "pad_token": tokenizer.pad_token, "max_length": str(max_length),
                                "site_packages": ":".join(paths)}))
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir


def write_ensemble(model_dir: Path, tokenizer_name: str, encoder_name: str, onnx_path: Path, *,
                   max_batch: int) -> Path:
    """TEXT -> sentence_embedding through the tokenizer and `encoder_name` (any flavour of the encoder)."""
    inputs, outputs = read_io(onnx_path)
    embedding = [o for o in outputs if o.name == "sentence_embedding"] or outputs[-1:]
    (model_dir / "1").mkdir(parents=True)  # ensembles need an (empty) version folder
    links = "".join(f'        input_map {{ key: "{i.name}" value: "{i.name}" }}\n' for i in inputs)
    tokenizer_out = "".join(f'        output_map {{ key: "{i.name}" value: "{i.name}" }}\n' for i in inputs)
    name = embedding[0].name
    text = (pbtxt.header(model_dir.name, max_batch, platform="ensemble")
            + pbtxt.tensors("input", [TensorSpec("TEXT", "TYPE_STRING", (-1, 1))], True)
            + pbtxt.tensors("output", embedding, max_batch > 0)
            + "ensemble_scheduling {\n  step [\n"
            + f'    {{\n        model_name: "{tokenizer_name}"\n        model_version: -1\n'
            + '        input_map { key: "TEXT" value: "TEXT" }\n' + tokenizer_out + "    },\n"
            + f'    {{\n        model_name: "{encoder_name}"\n        model_version: -1\n' + links
            + f'        output_map {{ key: "{name}" value: "{name}" }}\n    }}\n'
            + "  ]\n}\n")
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir
