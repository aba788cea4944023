"""Triton Python-backend model: TEXT (strings) -> the encoder's token inputs, with the model's own tokenizer.

Written by `encexport triton`. Uses the `tokenizers` library on the saved tokenizer.json (the same fast
tokenizer transformers uses), padding each request to its longest text, truncating at max_length.
"""

from pathlib import Path

import site_paths  # noqa: F401 - first: package folders the server was started with (ENCEXPORT_TRITON_PYTHONPATH)

import json  # noqa: E402

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from tensor_io import parameters, strings, to_tensor  # noqa: E402

HERE = Path(__file__).resolve().parent


class TritonPythonModel:
    def initialize(self, args):
        from tokenizers import Tokenizer

        config = json.loads(args["model_config"])
        params = parameters(config)
        self.tokenizer = Tokenizer.from_file(str(HERE / params["tokenizer_file"]))
        self.tokenizer.enable_padding(pad_id=int(params["pad_id"]), pad_token=params["pad_token"])
        self.tokenizer.enable_truncation(max_length=int(params["max_length"]))
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                texts = strings(pb_utils.get_input_tensor_by_name(request, "TEXT"))
                encodings = self.tokenizer.encode_batch(texts)
                columns = {"input_ids": [e.ids for e in encodings],
                           "attention_mask": [e.attention_mask for e in encodings],
                           "token_type_ids": [e.type_ids for e in encodings]}
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    to_tensor(name, np.asarray(columns[name], dtype=np.int64)) for name in self.outputs]))
            except Exception as exc:
                responses.append(pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(f"{type(exc).__name__}: {exc}")))
        return responses
