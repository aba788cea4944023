"""Triton Python-backend model: an exported encexport ONNX model run by ONNX Runtime with the custom-op library.

Written by `encexport triton`. The model file, the library and this file sit in the version folder; the
config's parameters name them. Each request runs as it comes (the dynamic batcher only merges requests whose
padded lengths agree).
"""

from pathlib import Path

import site_paths  # noqa: F401 - first: package folders the server was started with (ENCEXPORT_TRITON_PYTHONPATH)

import json  # noqa: E402

import triton_python_backend_utils as pb_utils  # noqa: E402
from tensor_io import parameters, to_numpy, to_tensor  # noqa: E402

HERE = Path(__file__).resolve().parent


class TritonPythonModel:
    def initialize(self, args):
        import onnxruntime as ort

        config = json.loads(args["model_config"])
        params = parameters(config)
        options = ort.SessionOptions()
        options.register_custom_ops_library(str(HERE / params["op_library"]))
        options.intra_op_num_threads = int(params.get("intra_op_threads", "0"))
        providers = ["CPUExecutionProvider"]
        if args["model_instance_kind"] == "GPU" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": int(args["model_instance_device_id"])}))
            if hasattr(ort, "preload_dlls"):  # CUDA/cuDNN from the nvidia-* wheels where the system has none
                try:
                    ort.preload_dlls()
                except Exception:  # noqa: BLE001 - the session reports what is really missing
                    pass
        self.session = ort.InferenceSession(str(HERE / params["onnx_model"]), options, providers=providers)
        # ONNX Runtime quietly drops a provider it cannot load: the log says which ones this model really runs on
        print(f"{args['model_name']}: ONNX Runtime providers {self.session.get_providers()}", flush=True)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                feed = {name: to_numpy(pb_utils.get_input_tensor_by_name(request, name)) for name in self.inputs}
                results = self.session.run(self.outputs, feed)
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[to_tensor(n, r) for n, r in zip(self.outputs, results)]))
            except Exception as exc:  # one bad request must not take the model down
                responses.append(pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(f"{type(exc).__name__}: {exc}")))
        return responses
