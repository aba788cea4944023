"""`polygraphy run --onnxrt-encexport`: ONNX Runtime with libencexport_ort.so, as a Polygraphy extension.

Registered through the `polygraphy.run.plugins` entry point (pyproject.toml). Stock `--onnxrt` cannot load a
custom-op library, so models with encexport::EncoderOnlyAttention need this runner, e.g.
    polygraphy run model.onnx --onnxrt-encexport --trt --plugins libencexport_trt.so
"""

from __future__ import annotations

from polygraphy.tools.args import ModelArgs
from polygraphy.tools.args.base import BaseRunnerArgs
from polygraphy.tools.script import make_invocable


class OnnxrtEncexportRunnerArgs(BaseRunnerArgs):
    """ONNX-Runtime with encexport: ONNX Runtime with the encexport custom-op library registered."""

    def get_name_opt_impl(self):
        return "ONNX-Runtime (encexport)", "onnxrt-encexport"

    def add_parser_args_impl(self):
        self.group.add_argument("--encexport-providers", nargs="+", default=None,
                                help="ONNX Runtime providers for --onnxrt-encexport, e.g. cuda cpu (default: cpu)")

    def parse_impl(self, args):
        names = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
        given = getattr(args, "encexport_providers", None) or ["cpu"]
        self.providers = [names.get(p.lower(), p) for p in given]

    def add_to_script_impl(self, script):
        script.add_import(imports=["OnnxrtRunner"], frm="polygraphy.backend.onnxrt")
        script.add_import(imports=["EncexportSession"], frm="encexport.check.runners")
        loader = script.add_loader(
            make_invocable("EncexportSession", self.arg_groups[ModelArgs].path, providers=self.providers),
            "build_encexport_session")
        script.add_runner(make_invocable("OnnxrtRunner", loader, name="onnxrt-encexport"))


def export_argument_groups():
    return [OnnxrtEncexportRunnerArgs()]
