"""Python backend flavour: the encoder run by ONNX Runtime inside Triton's Python backend, a tokenizer
model (TEXT -> token ids), and a text-in ensemble (tokenizer -> encoder -> sentence_embedding).

This is the flavour a stock tritonserver with only the Python backend (e.g. nvidia-pytriton's) can serve.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

from . import pbtxt
from .onnx_io import TensorSpec, read_io

TEMPLATES = Path(__file__).resolve().parent / "templates"
STUB_NUMPY = "1.26.4"  # the tritonserver 2.51 stub was built against numpy 1.x (templates/tensor_io.py)


def _copy_templates(name: str, dest: Path) -> None:
    shutil.copy2(TEMPLATES / name, dest)
    for helper in ("tensor_io.py", "site_paths.py"):
        shutil.copy2(TEMPLATES / helper, dest.parent / helper)


def _installed(*distributions: str) -> tuple[str, str] | None:
    for dist in distributions:
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def requirements(encoder_kinds: set[str], tokenizer: bool) -> str:
    """requirements.txt for the server's Python: the packages the Python-backend models import, pinned to the
    versions this repository was written and checked with. `encoder_kinds`: instance kinds of the encoders."""
    lines = ["# Packages the Python-backend models of this repository import, for the Python that runs the",
             "# Triton Python-backend stub (e.g. in the container: pip install -r /models/requirements.txt).",
             "# Pinned to the versions the repository was written with."]
    numpy = _installed("numpy")
    pin = numpy[1] if numpy and int(numpy[1].split(".")[0]) < 2 else STUB_NUMPY
    lines += ["# numpy<2: the tritonserver 2.51 stub reads string tensors only under numpy 1.x.", f"numpy=={pin}"]
    if encoder_kinds:
        runtime = _installed("onnxruntime-gpu", "onnxruntime")
        name, version = runtime if runtime else ("onnxruntime", "1.23.0")
        if "gpu" in encoder_kinds and name == "onnxruntime":
            lines.append("# KIND_GPU instances: onnxruntime-gpu of the same version gives them the CUDA provider.")
            name = "onnxruntime-gpu"
        lines.append("# libencexport_ort.so needs onnxruntime >= 1.23.")
        lines.append(f"{name}=={version}")
    if tokenizer:
        found = _installed("tokenizers")
        lines.append(f"tokenizers=={found[1]}" if found else "tokenizers")
    return "\n".join(lines) + "\n"


def write_encoder(model_dir: Path, onnx_path: Path, library: Path, *, max_batch: int, instances: int,
                  kind: str) -> Path:
    version = model_dir / "1"
    version.mkdir(parents=True)
    shutil.copy2(onnx_path, version / "model.onnx")
    shutil.copy2(library, version / library.name)  # model.py resolves it next to itself: no cwd question
    _copy_templates("encoder_model.py", version / "model.py")
    inputs, outputs = read_io(onnx_path)
    batched = max_batch > 0
    text = (pbtxt.header(model_dir.name, max_batch, backend="python")
            + pbtxt.tensors("input", inputs, batched) + pbtxt.tensors("output", outputs, batched)
            + pbtxt.instance_group(instances, kind) + pbtxt.dynamic_batching(max_batch)
            + pbtxt.parameters({"onnx_model": "model.onnx", "op_library": library.name}))
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir


def write_tokenizer(model_dir: Path, tokenizer, token_inputs: list[TensorSpec], *, max_batch: int,
                    instances: int) -> Path:
    version = model_dir / "1"
    version.mkdir(parents=True)
    tokenizer.save_pretrained(str(version / "tokenizer"))
    _copy_templates("tokenizer_model.py", version / "model.py")
    max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    text_in = [TensorSpec("TEXT", "TYPE_STRING", (-1, 1))]
    text = (pbtxt.header(model_dir.name, max_batch, backend="python")
            + pbtxt.tensors("input", text_in, True) + pbtxt.tensors("output", token_inputs, True)
            + pbtxt.instance_group(instances, "cpu")
            + pbtxt.parameters({"tokenizer_file": "tokenizer/tokenizer.json", "pad_id": str(tokenizer.pad_token_id),
                                "pad_token": tokenizer.pad_token, "max_length": str(max_length)}))
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
