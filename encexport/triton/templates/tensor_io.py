"""numpy <-> pb_utils.Tensor that works whichever numpy the Python-backend stub ends up importing.

The tritonserver 2.51 stub's C++ layer was built against numpy 1.x. Measured with that stub:
  numpy 1.26: as_numpy() and pb_utils.Tensor(name, array) work; Tensor.from_dlpack(name, array) kills the stub.
  numpy 2.x:  as_numpy() returns zeros for numeric tensors and pb_utils.Tensor(name, array) arrives empty
              ("cannot reshape array of size 0"); DLPack works both ways.
np.from_dlpack reads numeric inputs correctly under both, so inputs always go through DLPack and outputs pick
the path that works for the numpy in use.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

NUMPY2 = int(np.__version__.split(".")[0]) >= 2


def parameters(model_config: dict) -> dict[str, str]:
    """The `parameters { key: ... value: { string_value: ... } }` of a model's config.pbtxt."""
    return {k: v["string_value"] for k, v in model_config.get("parameters", {}).items()}


def to_numpy(tensor) -> np.ndarray:
    """A numeric input tensor as a numpy array (a view on Triton's buffer: valid during execute())."""
    return np.from_dlpack(tensor)


def strings(tensor) -> list[str]:
    """A TYPE_STRING input as Python strings (DLPack has no string type, so as_numpy is the only way)."""
    if NUMPY2:  # as_numpy() on a BYTES tensor aborts the whole stub under numpy 2: fail the request instead
        raise RuntimeError("TYPE_STRING inputs need numpy<2 in the Triton Python backend: install the "
                           "repository's requirements.txt in the server's Python, or start it with "
                           "`encexport serve REPO --stub-numpy DIR` (DIR: pip install --target DIR numpy==1.26.4)")
    return [item.decode("utf-8") if isinstance(item, bytes) else str(item)
            for item in tensor.as_numpy().reshape(-1)]


def to_tensor(name: str, array: np.ndarray):
    array = np.ascontiguousarray(array)
    return pb_utils.Tensor.from_dlpack(name, array) if NUMPY2 else pb_utils.Tensor(name, array)
