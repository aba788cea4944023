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
        import onnxruntime

        available = onnxruntime.get_available_providers()
        missing = [p for p in self.providers if p not in available]
        if missing:  # ONNX Runtime would drop them quietly and the comparison would pass on the CPU
            from polygraphy.logger import G_LOGGER

            G_LOGGER.critical(f"--encexport-providers: {', '.join(missing)} not available in this onnxruntime "
                              f"(it offers {', '.join(available)}); install onnxruntime-gpu and run on a machine "
                              "with a CUDA GPU and driver, or pass --encexport-providers cpu")

    def add_to_script_impl(self, script):
        script.add_import(imports=["OnnxrtRunner"], frm="polygraphy.backend.onnxrt")
        script.add_import(imports=["EncexportSession"], frm="encexport.check.runners")
        loader = script.add_loader(
            make_invocable("EncexportSession", self.arg_groups[ModelArgs].path, providers=self.providers,
                           fix="pass --encexport-providers cpu"),
            "build_encexport_session")
        script.add_runner(make_invocable("OnnxrtRunner", loader, name="onnxrt-encexport"))


def export_argument_groups():
    return [OnnxrtEncexportRunnerArgs()]
